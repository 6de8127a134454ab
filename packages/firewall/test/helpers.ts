import {
  Conntrack,
  Firewall,
  type FirewallPacket,
  FirewallPeer,
  type FirewallPeerInit,
  localNetsOf,
  newFirewallPacket,
  parseFirewallConfig,
} from '../src/index.js';

export const ip = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0) >>> 0;
export const net = (s: string) => {
  const [a, b] = s.split('/');
  const bits = Number(b ?? 32);
  return { addr: ip(a!), mask: bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0 };
};

/** Our node: 203.0.113.1/24. */
export const ME = { name: 'me', groups: [], issuer: 'ca-sha', ips: [net('203.0.113.1/24')], subnets: [] };

export function peer(over: Partial<FirewallPeerInit> = {}): FirewallPeer {
  return new FirewallPeer({
    name: 'host1',
    groups: ['default-group'],
    issuer: 'signer-shasum',
    ips: [net('203.0.113.2/24')],
    subnets: [],
    ...over,
  });
}

export function pkt(over: Partial<FirewallPacket> = {}): FirewallPacket {
  return Object.assign(newFirewallPacket(), {
    localIp: ip('203.0.113.1'),
    remoteIp: ip('203.0.113.2'),
    localPort: 10,
    remotePort: 90,
    protocol: 17,
    fragment: false,
    ...over,
  });
}

export function firewall(
  raw: unknown,
  opts: { conntrack?: Conntrack; caNames?: Record<string, string> } = {},
): Firewall {
  const caNames = opts.caNames ?? { 'signer-shasum': 'ca-good' };
  return new Firewall({
    rules: parseFirewallConfig(raw),
    conntrack: opts.conntrack ?? Conntrack.create({ capacity: 1024 }),
    localNets: localNetsOf(ME),
    caNameForIssuer: (i) => caNames[i],
  });
}
