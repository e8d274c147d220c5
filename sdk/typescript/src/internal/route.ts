/**
 * The IPv4 gateway of the default route in the text of /proc/net/route, or undefined when there is
 * none. Inside a boxd VM that gateway is the worker's bridge, where the boxd gateway answers.
 *
 * Each line after the header is `Iface Destination Gateway Flags …`, addresses in hex in the
 * kernel's (little-endian) byte order.
 */
export function defaultGateway(procNetRoute: string): string | undefined {
  const RTF_UP = 0x1;
  const RTF_GATEWAY = 0x2;
  for (const line of procNetRoute.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) {
      continue;
    }
    const [, destination, gateway, flagsHex, , , , mask] = fields;
    const flags = Number.parseInt(flagsHex, 16);
    if (destination !== '00000000' || mask !== '00000000' || !(flags & RTF_UP) || !(flags & RTF_GATEWAY)) {
      continue;
    }
    if (!/^[0-9A-Fa-f]{8}$/.test(gateway) || gateway === '00000000') {
      continue;
    }
    const value = Number.parseInt(gateway, 16);
    return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24].join('.');
  }
  return undefined;
}
