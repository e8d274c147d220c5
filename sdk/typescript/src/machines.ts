import { status } from '@grpc/grpc-js';
import { setTimeout as delay } from 'node:timers/promises';
import type { CreateVmRequest } from './generated/boxd/api/v1/CreateVmRequest.js';
import { BoxdError, ConflictError, InvalidArgumentError } from './errors.js';
import { ExecStream } from './exec-stream.js';
import { Files } from './files.js';
import { Proxies } from './proxies.js';
import { checkEnv, memoryMib, shellCommand, timeoutSecs } from './internal/shell.js';
import { BOOT_DEADLINE_MS, type Transport } from './internal/transport.js';
import {
  toMachine, type CreateMachineParams, type ExecParams, type ExecResult, type ExecRunParams, type ForkParams, type Machine,
} from './types.js';

const READY_POLL_MS = 500;

/** VMs: every method takes a VM's id or its name. */
export class Machines {
  readonly files: Files;
  readonly proxies: Proxies;

  constructor(private readonly transport: Transport) {
    this.files = new Files(transport);
    this.proxies = new Proxies(transport);
  }

  /** Creates a VM and returns once it runs (or restored `fromSnapshot`). */
  async create(params: CreateMachineParams = {}): Promise<Machine> {
    const request: CreateVmRequest = {
      name: params.name ?? '',
      isolated: params.isolated ?? false,
      fromSnapshot: params.fromSnapshot ?? '',
      image: params.image ?? '',
    };
    const config = params.config ?? {};
    if (config.vcpu !== undefined) {
      if (!Number.isInteger(config.vcpu) || config.vcpu < 1) {
        throw new InvalidArgumentError(`vcpu ${config.vcpu} is not a positive whole number`);
      }
      request.vcpus = config.vcpu;
    }
    if (config.memory !== undefined) {
      request.memoryMib = memoryMib(config.memory);
    }
    if (config.autoSuspendTimeout !== undefined) {
      request.autoSuspendTimeoutSecs = timeoutSecs(config.autoSuspendTimeout, 'auto-suspend');
    }
    const response = await this.transport.unary('createVm', request, BOOT_DEADLINE_MS);
    if (response.vm) {
      return toMachine(response.vm);
    }
    return this.get(response.vmId);
  }

  async get(idOrName: string): Promise<Machine> {
    return toMachine(await this.transport.unary('getVm', { vmId: idOrName }));
  }

  async list(): Promise<Machine[]> {
    const response = await this.transport.unary('listVms', {});
    return response.vms.map(toMachine);
  }

  /** Destroys the VM and its disk. */
  async delete(id: string): Promise<void> {
    await this.transport.unary('destroyVm', { vmId: id });
  }

  /** Copies a VM (memory, disk and processes) into a new one, named `SRC-fork` unless `name` is given. */
  async fork(source: string, params: ForkParams = {}): Promise<Machine> {
    const request = {
      sourceVmId: source,
      name: params.name ?? '',
      ...(params.autoSuspendTimeout === undefined ? {} : { autoSuspendTimeoutSecs: timeoutSecs(params.autoSuspendTimeout, 'auto-suspend') }),
    };
    const response = await this.transport.unary('forkVm', request, BOOT_DEADLINE_MS);
    if (response.vm) {
      return toMachine(response.vm);
    }
    return this.get(response.vmId);
  }

  /** Cold-boots a stopped VM. */
  async start(id: string): Promise<void> {
    await this.transport.unary('startVm', { vmId: id }, BOOT_DEADLINE_MS);
  }

  /** Powers the VM off, keeping its disk. */
  async stop(id: string): Promise<void> {
    await this.transport.unary('stopVm', { vmId: id });
  }

  /** Cold restart: memory is lost, the disk kept. */
  async reboot(id: string): Promise<void> {
    await this.transport.unary('rebootVm', { vmId: id }, BOOT_DEADLINE_MS);
  }

  /** Freezes the VM in RAM (standby); the first inbound packet, or `resume`, wakes it. */
  async pause(id: string): Promise<{ suspendUs: number }> {
    const response = await this.transport.unary('pauseVm', { vmId: id });
    return { suspendUs: response.suspendUs };
  }

  async resume(id: string): Promise<{ resumeUs: number }> {
    const response = await this.transport.unary('resumeVm', { vmId: id });
    return { resumeUs: response.resumeUs };
  }

  /** Writes the VM's memory to disk and ends its VMM; it wakes like a paused VM, a little slower. */
  async hibernate(id: string): Promise<Machine> {
    return toMachine(await this.transport.unary('hibernateVm', { vmId: id }));
  }

  /** Idle seconds before standby; 0 turns auto-suspend off (needed for CPU-only jobs). */
  async setAutoSuspend(id: string, seconds: number): Promise<Machine> {
    const timeout = timeoutSecs(seconds, 'auto-suspend');
    return toMachine(await this.transport.unary('setAutoSuspend', { vmId: id, timeoutSecs: timeout }));
  }

  /**
   * Resolves with the VM once it is running, checking every half second. Fails at once if it
   * failed, and after `timeout` seconds (default 180) otherwise.
   */
  async waitUntilReady(id: string, options: { timeout?: number } = {}): Promise<Machine> {
    const timeout = options.timeout ?? 180;
    const deadline = Date.now() + timeout * 1000;
    for (;;) {
      const machine = await this.get(id);
      if (machine.status === 'running') {
        return machine;
      }
      if (machine.status === 'failed') {
        throw new ConflictError(`VM '${id}' failed${machine.detail ? `: ${machine.detail}` : ''}`, status.FAILED_PRECONDITION);
      }
      if (Date.now() + READY_POLL_MS > deadline) {
        throw new BoxdError(`VM '${id}' is still ${machine.status} after ${timeout} s`, status.DEADLINE_EXCEEDED);
      }
      await delay(READY_POLL_MS);
    }
  }

  /** Runs a command to its end and returns its output (UTF-8) and exit code. */
  async exec(id: string, params: ExecRunParams): Promise<ExecResult> {
    const stream = this.execStream(id, params);
    const stdin = params.stdin;
    const fed = (async () => {
      if (stdin !== undefined) {
        await stream.write(stdin);
      }
      await stream.end();
    })();
    // A failed call is thrown by the iteration below; this keeps a second report of it quiet.
    fed.catch(() => undefined);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    for await (const output of stream) {
      (output.stream === 'stderr' ? stderr : stdout).push(output.data);
    }
    await fed;
    const exitCode = await stream.exitCode;
    return {
      exitCode,
      success: exitCode === 0,
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
    };
  }

  /**
   * Starts a command and returns at once: iterate the result for output as it comes, `write` and
   * `end` its stdin, await `exitCode`.
   */
  execStream(id: string, params: ExecParams): ExecStream {
    const command = shellCommand(params.command, params.cwd);
    const env = checkEnv(params.env);
    const timeout = timeoutSecs(params.timeout, 'exec');
    return new ExecStream(async () => {
      const { metadata } = await this.transport.auth();
      const call = this.transport.client.exec(metadata);
      call.write({ vmId: id, command, env, timeoutSecs: timeout });
      return call;
    }, this.transport.url);
  }
}
