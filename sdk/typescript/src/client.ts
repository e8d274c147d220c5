import { Machines } from './machines.js';
import { Snapshots } from './snapshots.js';
import { resolveConfig, type BoxdOptions } from './internal/config.js';
import { Transport } from './internal/transport.js';
import type { WhoAmI } from './types.js';

/**
 * The boxd API. Credentials and the URL come from the options or the environment (BOXD_API_KEY or
 * BOXD_TOKEN, BOXD_API_URL, BOXD_CA_CERT); inside a boxd VM, with none of them set, it talks to
 * the worker's gateway, which knows the VM (and so its owner) by its address.
 */
export class Boxd {
  readonly machines: Machines;
  readonly snapshots: Snapshots;
  /** The same objects as machines.files and machines.proxies. */
  readonly files;
  readonly proxies;
  private readonly transport: Transport;

  constructor(options: BoxdOptions = {}) {
    this.transport = new Transport(resolveConfig(options));
    this.machines = new Machines(this.transport);
    this.snapshots = new Snapshots(this.transport);
    this.files = this.machines.files;
    this.proxies = this.machines.proxies;
  }

  /** The account the credentials belong to. */
  async whoami(): Promise<WhoAmI> {
    const response = await this.transport.unary('whoami', {});
    return { userId: response.userId, name: response.name, keyFingerprints: response.keyFingerprints };
  }

  /** Closes the connection; calls made afterwards fail. */
  close(): void {
    this.transport.close();
  }
}
