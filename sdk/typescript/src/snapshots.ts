import { status } from '@grpc/grpc-js';
import type { Transport } from './internal/transport.js';
import { NotFoundError } from './errors.js';
import { toSnapshot, type Snapshot } from './types.js';

/** Named memory+disk snapshots that outlive their VM; `machines.create({fromSnapshot})` restores one. */
export class Snapshots {
  constructor(private readonly transport: Transport) {}

  /** Saves VM `id` as snapshot `name`. */
  async create(id: string, name: string): Promise<Snapshot> {
    return toSnapshot(await this.transport.unary('saveSnapshot', { vmId: id, name }));
  }

  /** The snapshot named `nameOrId` (either works). */
  async get(nameOrId: string): Promise<Snapshot> {
    const found = (await this.list()).find((s) => s.name === nameOrId || s.id === nameOrId);
    if (found === undefined) {
      throw new NotFoundError(`snapshot '${nameOrId}' not found`, status.NOT_FOUND);
    }
    return found;
  }

  async list(): Promise<Snapshot[]> {
    const response = await this.transport.unary('listSnapshots', {});
    return response.snapshots.map(toSnapshot);
  }

  async delete(name: string): Promise<void> {
    await this.transport.unary('deleteSnapshot', { name });
  }
}
