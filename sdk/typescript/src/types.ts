import type { GetVmResponse__Output } from './generated/boxd/api/v1/GetVmResponse.js';
import type { Proxy__Output } from './generated/boxd/api/v1/Proxy.js';
import type { Snapshot__Output } from './generated/boxd/api/v1/Snapshot.js';
import type { DirEntry__Output } from './generated/boxd/api/v1/DirEntry.js';

/** Lifecycle states (SPEC §4); standby and hibernated VMs wake on the first packet. */
export type MachineStatus =
  | 'creating' | 'booting' | 'running' | 'standby' | 'hibernated' | 'stopped' | 'failed' | 'destroying' | (string & {});

export interface Machine {
  id: string;
  name: string;
  status: MachineStatus;
  /** https://NAME.<zone> */
  url: string;
  /** The VM's private address. */
  ip: string;
  publicIp: string;
  image: string;
  isolated: boolean;
  vcpu: number;
  memoryMib: number;
  diskGb: number;
  /** RFC 3339, UTC. */
  createdAt: string;
  /** Idle seconds before standby; 0: auto-suspend off. */
  autoSuspendTimeout: number;
  /** The command that logs into the VM with OpenSSH; empty without one. */
  ssh: string;
  bootTimeMs: number;
  /** Why the VM failed or was restarted; empty when there is nothing to say. */
  detail: string;
}

export interface MachineConfig {
  vcpu?: number;
  /** MiB as a number, or a size such as "512M", "2G", "2GiB". */
  memory?: number | string;
  /** Idle seconds before standby; 0 turns auto-suspend off. */
  autoSuspendTimeout?: number;
}

export interface CreateMachineParams {
  /** A DNS label, unique among your VMs; made up when omitted. */
  name?: string;
  /** No traffic to other VMs and no in-VM CLI; fixed at creation. */
  isolated?: boolean;
  /** Restore a snapshot (its size, memory, disk and processes) instead of booting the image. */
  fromSnapshot?: string;
  /** A named image; the default image when omitted. */
  image?: string;
  config?: MachineConfig;
}

export interface ForkParams {
  name?: string;
  /** Idle seconds before standby; the source's setting when omitted. */
  autoSuspendTimeout?: number;
}

export interface ExecParams {
  /** Shell text (run by `sh -c`), or an argv whose words are quoted for the shell. */
  command: string | readonly string[];
  /** Working directory; relative paths start at /home/boxd. */
  cwd?: string;
  env?: Record<string, string>;
  /** Seconds before the command is killed; it then exits with 124. */
  timeout?: number;
}

export interface ExecRunParams extends ExecParams {
  /** Fed to the command's stdin, which then ends; without it stdin is empty. */
  stdin?: string | Uint8Array;
}

export interface ExecResult {
  exitCode: number;
  success: boolean;
  stdout: string;
  stderr: string;
}

export interface ExecOutput {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface Proxy {
  /** "default" for the VM's own domain, else the SUB of SUB.NAME.<zone>. */
  name: string;
  vm: string;
  domain: string;
  port: number;
}

export interface Snapshot {
  id: string;
  name: string;
  /** The VM it was taken of. */
  vm: string;
  createdAt: string;
  /** Known right after saving; 0 in lists. */
  sizeBytes: number;
}

export interface DirEntry {
  name: string;
  type: 'file' | 'dir' | 'link' | 'other' | (string & {});
  size: number;
  mode: number;
  modifiedAt: string;
}

export interface WhoAmI {
  userId: string;
  name: string;
  keyFingerprints: string[];
}

export function toMachine(vm: GetVmResponse__Output): Machine {
  return {
    id: vm.vmId,
    name: vm.name,
    status: vm.status,
    url: vm.url,
    ip: vm.ip,
    publicIp: vm.publicIp,
    image: vm.image,
    isolated: vm.isolated,
    vcpu: vm.vcpus,
    memoryMib: vm.memoryMib,
    diskGb: vm.diskGb,
    createdAt: vm.createdAt,
    autoSuspendTimeout: vm.autoSuspendSecs,
    ssh: vm.ssh,
    bootTimeMs: vm.bootTimeMs,
    detail: vm.detail,
  };
}

export function toProxy(proxy: Proxy__Output): Proxy {
  return { name: proxy.name, vm: proxy.vmName, domain: proxy.domain, port: proxy.port };
}

export function toSnapshot(snapshot: Snapshot__Output): Snapshot {
  return { id: snapshot.id, name: snapshot.name, vm: snapshot.vm, createdAt: snapshot.createdAt, sizeBytes: snapshot.sizeBytes };
}

export function toDirEntry(entry: DirEntry__Output): DirEntry {
  return { name: entry.name, type: entry.type, size: entry.size, mode: entry.mode, modifiedAt: entry.modifiedAt };
}
