/** `-ip`, `-ips`, `-subnets` parsing with nebula-cert's messages. */
import { type IPv4Net, isCertError, parseCidr } from '@nebula-ts/cert';
import { helpError, splitList, trimSpaces } from './context.js';

type Kind = 'ip' | 'subnet';

/** One CIDR; `network: true` stores the network address (subnets), else the address as typed. */
export function parseCidrFlag(value: string, kind: Kind, network: boolean): IPv4Net {
  try {
    const p = parseCidr(value);
    return network ? p.network : p.ip;
  } catch (e) {
    if (isCertError(e) && (e as { ipv6?: boolean }).ipv6) {
      throw helpError(`invalid ${kind} definition: can only be ipv4, have ${value}`);
    }
    throw helpError(`invalid ${kind} definition: ${isCertError(e) ? e.message : String(e)}`);
  }
}

export function parseCidrList(value: string, kind: Kind, network: boolean): IPv4Net[] {
  return splitList(value, trimSpaces).map((v) => parseCidrFlag(v, kind, network));
}
