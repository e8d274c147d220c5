import type { Transport } from './internal/transport.js';
import { InvalidArgumentError } from './errors.js';
import { toProxy, type Proxy } from './types.js';

/** HTTPS routes to a VM: `default` is https://NAME.<zone>, others https://SUB.NAME.<zone>. */
export class Proxies {
  constructor(private readonly transport: Transport) {}

  async list(id: string): Promise<Proxy[]> {
    const response = await this.transport.unary('listProxies', { vmName: id });
    return response.proxies.map(toProxy);
  }

  /** A route SUB.NAME.<zone> to `port` of the VM. */
  async create(id: string, name: string, port: number): Promise<Proxy> {
    const checked = portNumber(port);
    return toProxy(await this.transport.unary('createProxy', { vmName: id, name, port: checked }));
  }

  /** Points a route (the default one unless `name` is given) at `port`, or at the port the guest listens on ('auto'). */
  async setPort(id: string, port: number | 'auto', options: { name?: string } = {}): Promise<Proxy> {
    const checked = port === 'auto' ? 0 : portNumber(port);
    const name = options.name === 'default' ? '' : options.name ?? '';
    const response = await this.transport.unary('setProxyPort', { vmName: id, name, port: checked });
    return toProxy(response.proxy!);
  }

  async delete(id: string, name: string): Promise<void> {
    await this.transport.unary('deleteProxy', { vmName: id, name });
  }
}

function portNumber(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`port ${port} is not a TCP port: expected 1-65535 (or 'auto' for setPort)`);
  }
  return port;
}
