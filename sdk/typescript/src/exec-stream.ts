import type { ClientDuplexStream } from '@grpc/grpc-js';
import { once } from 'node:events';
import type { ExecChunk } from './generated/boxd/api/v1/ExecChunk.js';
import type { ExecChunk__Output } from './generated/boxd/api/v1/ExecChunk.js';
import { BoxdError, toBoxdError } from './errors.js';
import type { ExecOutput } from './types.js';

type ExecCall = ClientDuplexStream<ExecChunk, ExecChunk__Output>;

// Output buffered beyond this while someone iterates pauses the call, so the server (and the
// command) slow down to the reader's pace instead of filling memory.
const HIGH_WATER = 64;
const LOW_WATER = 8;

/**
 * A running command: iterate it for its output as it comes (stdout and stderr apart), feed its
 * stdin with `write` and `end`, and await `exitCode`. Breaking out of the iteration or calling
 * `cancel` kills the command's process group in the VM.
 */
export class ExecStream implements AsyncIterable<ExecOutput> {
  /** The command's exit code (124 when its timeout fired); rejects with a BoxdError if the call fails. */
  readonly exitCode: Promise<number>;
  private readonly call: Promise<ExecCall>;
  private readonly buffered: ExecOutput[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private failure: BoxdError | undefined;
  private iterating = false;
  private paused = false;

  /** `open` starts the call and writes its first chunk (the command). */
  constructor(open: () => Promise<ExecCall>, url: string) {
    let code = 0;
    let settle: { resolve(code: number): void; reject(error: BoxdError): void };
    this.exitCode = new Promise<number>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // Awaiting exitCode is optional: a failure is also thrown from the iteration.
    this.exitCode.catch(() => {});
    this.call = open().then((call) => {
      call.on('data', (chunk: ExecChunk__Output) => {
        if (chunk.data.length > 0) {
          this.push({ stream: chunk.isStderr ? 'stderr' : 'stdout', data: chunk.data });
        }
        if (chunk.exitCode !== 0) {
          code = chunk.exitCode;
        }
      });
      call.on('end', () => this.finish(undefined, () => settle.resolve(code)));
      call.on('error', (error) => {
        const failure = toBoxdError(error, url);
        this.finish(failure, () => settle.reject(failure));
      });
      return call;
    });
    this.call.catch((error) => {
      const failure = toBoxdError(error, url);
      this.finish(failure, () => settle.reject(failure));
    });
  }

  /** Sends bytes to the command's stdin; resolves once the transport took them. */
  async write(data: string | Uint8Array): Promise<void> {
    const call = await this.call;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    if (bytes.length === 0 || this.finished) {
      return;
    }
    if (!call.write({ stdin: bytes })) {
      await Promise.race([once(call, 'drain'), this.exitCode.catch(() => undefined)]);
    }
  }

  /** Ends the command's stdin (EOF); its output keeps coming. */
  async end(): Promise<void> {
    const call = await this.call;
    if (!this.finished) {
      call.write({ stdinEof: true });
      call.end();
    }
  }

  /** Stops the command; the iteration and exitCode then fail with a CANCELLED BoxdError. */
  cancel(): void {
    this.call.then((call) => call.cancel(), () => {});
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ExecOutput> {
    this.iterating = true;
    try {
      for (;;) {
        const next = this.buffered.shift();
        if (next !== undefined) {
          this.resumeIfDrained();
          yield next;
          continue;
        }
        if (this.failure !== undefined) {
          throw this.failure;
        }
        if (this.finished) {
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      this.iterating = false;
      if (!this.finished) {
        this.cancel();
      }
    }
  }

  private push(output: ExecOutput): void {
    this.buffered.push(output);
    if (this.iterating && !this.paused && this.buffered.length >= HIGH_WATER) {
      this.paused = true;
      this.call.then((call) => call.pause(), () => {});
    }
    this.signal();
  }

  private resumeIfDrained(): void {
    if (this.paused && this.buffered.length <= LOW_WATER) {
      this.paused = false;
      this.call.then((call) => call.resume(), () => {});
    }
  }

  private finish(failure: BoxdError | undefined, settle: () => void): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    this.failure = failure;
    settle();
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
