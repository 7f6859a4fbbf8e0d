/**
 * Validation of an interface's IPv4 address and gateway for the engine's
 * configuration API (moved out of stack.ts to keep it under 600 lines).
 */
import { formatIpv4, parseCidr, parseIpv4, isMulticast } from '../wire/ipv4addr.js';
import type { NetInterface } from './netif.js';

/**
 * Parse and validate an interface address (CIDR; null: none) and gateway
 * for `addInterface` and `setInterfaceAddress`: a usable
 * unicast address, not the network or broadcast address of its subnet,
 * not already on another interface than `self`; a gateway inside it.
 * Throws a RangeError naming the problem.
 */
export function checkAddress4(cidrText: string | null, gatewayText: string | undefined, interfaces: readonly NetInterface[],
  self: NetInterface | null): { address: number; prefix: number; gateway: number } {
  let address = 0;
  let prefix = 0;
  let gateway = 0;
  if (cidrText !== null) {
    const cidr = parseCidr(cidrText, 'interface address');
    address = cidr.address;
    prefix = cidr.prefixLength;
    if (address === 0 || isMulticast(address) || address === 0xffffffff || (address >>> 24) === 127) {
      throw new RangeError(`interface address '${cidrText}' is not a usable unicast address`);
    }
    if (prefix < 31 && prefix > 0) {
      const mask = (0xffffffff << (32 - prefix)) >>> 0;
      if ((address & ~mask) >>> 0 === 0 || ((address | mask) >>> 0) === 0xffffffff) {
        throw new RangeError(`interface address '${cidrText}' is the network or broadcast address of its subnet`);
      }
    }
    for (const other of interfaces) {
      if (other !== self && other.address === (address | 0)) {
        throw new RangeError(`duplicate address ${formatIpv4(address)}: already on ${other.name}`);
      }
    }
  }
  if (gatewayText !== undefined) {
    gateway = parseIpv4(gatewayText);
    if (gateway <= 0) throw new RangeError(`invalid gateway '${gatewayText}'`);
    if (address === 0) throw new RangeError('a gateway needs an interface address');
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if (((gateway & mask) >>> 0) !== ((address & mask) >>> 0)) {
      throw new RangeError(`gateway ${gatewayText} is not inside ${cidrText}`);
    }
  }
  return { address, prefix, gateway };
}

