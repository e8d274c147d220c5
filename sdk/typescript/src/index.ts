export { Boxd } from './client.js';
export type { BoxdOptions } from './internal/config.js';
export {
  BoxdError, NotFoundError, ConflictError, AuthenticationError, PermissionDeniedError, RateLimitError,
  InvalidArgumentError, APIConnectionError,
} from './errors.js';
export { ExecStream } from './exec-stream.js';
export { Files, type UploadData } from './files.js';
export { Machines } from './machines.js';
export { Proxies } from './proxies.js';
export { Snapshots } from './snapshots.js';
export type {
  Machine, MachineStatus, MachineConfig, CreateMachineParams, ForkParams, ExecParams, ExecRunParams, ExecResult,
  ExecOutput, Proxy, Snapshot, DirEntry, WhoAmI,
} from './types.js';
