import type { ClientWritableStream } from '@grpc/grpc-js';
import { once } from 'node:events';
import type { FileChunk } from './generated/boxd/api/v1/FileChunk.js';
import type { Transport } from './internal/transport.js';
import { InvalidArgumentError, toBoxdError } from './errors.js';
import { toDirEntry, type DirEntry } from './types.js';

/** What an upload accepts: bytes, text (UTF-8), or a stream of bytes such as fs.createReadStream. */
export type UploadData = string | Uint8Array | AsyncIterable<Uint8Array | string>;

// Well under gRPC's 4 MiB message limit, large enough that framing costs nothing.
const CHUNK = 1024 * 1024;

/** Files in a VM, over the streaming RPCs: no size limit. Paths are relative to /home/boxd unless absolute. */
export class Files {
  constructor(private readonly transport: Transport) {}

  /** Writes `data` to `path` in the VM (replacing it; mode 0644 unless given). */
  async upload(id: string, path: string, data: UploadData, options: { mode?: number } = {}): Promise<{ bytesWritten: number }> {
    requirePath(path);
    const { metadata } = await this.transport.auth();
    const url = this.transport.url;
    let answered = false;
    let call!: ClientWritableStream<FileChunk>;
    const answer = new Promise<{ bytesWritten: number }>((resolve, reject) => {
      call = this.transport.client.uploadFileStream(metadata, (error, response) => {
        answered = true;
        if (error) {
          reject(toBoxdError(error, url));
        } else {
          resolve({ bytesWritten: response!.bytesWritten });
        }
      });
    });
    // The server may answer (refuse) before it has read everything: stop writing then.
    const settled = answer.then(() => undefined, () => undefined);
    const header: FileChunk = { vmId: id, path, mode: options.mode ?? 0 };
    try {
      let first = true;
      for await (const piece of pieces(data)) {
        if (answered) {
          break;
        }
        const ready = call.write(first ? { ...header, data: piece } : { data: piece });
        first = false;
        if (!ready) {
          await Promise.race([once(call, 'drain'), settled]);
        }
      }
      if (first && !answered) {
        call.write(header);
      }
      call.end();
    } catch (error) {
      answer.catch(() => undefined);
      call.cancel();
      throw toBoxdError(error, url);
    }
    return answer;
  }

  /** The whole file at `path` in the VM. */
  async download(id: string, path: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.downloadStream(id, path)) {
      parts.push(part);
    }
    return Buffer.concat(parts);
  }

  /** The file at `path` in the VM, piece by piece as it arrives. */
  async *downloadStream(id: string, path: string): AsyncGenerator<Buffer> {
    requirePath(path);
    const { metadata } = await this.transport.auth();
    const call = this.transport.client.downloadFileStream({ vmId: id, path }, metadata);
    try {
      for await (const chunk of call) {
        if (chunk.data.length > 0) {
          yield chunk.data;
        }
      }
    } catch (error) {
      throw toBoxdError(error, this.transport.url);
    } finally {
      call.cancel();
    }
  }

  /** The entries of the directory at `path` in the VM. */
  async listDir(id: string, path: string = '.'): Promise<DirEntry[]> {
    const response = await this.transport.unary('listDir', { vmId: id, path });
    return response.entries.map(toDirEntry);
  }
}

function requirePath(path: string): void {
  if (typeof path !== 'string' || path === '') {
    throw new InvalidArgumentError(`file path ${JSON.stringify(path)} is empty: expected a path in the VM`);
  }
}

async function* pieces(data: UploadData): AsyncGenerator<Buffer> {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (let at = 0; at < bytes.length; at += CHUNK) {
      yield bytes.subarray(at, at + CHUNK);
    }
    return;
  }
  if (data === null || typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
    throw new InvalidArgumentError('upload data is not a string, bytes or an async iterable of bytes');
  }
  for await (const part of data) {
    yield* pieces(part);
  }
}
