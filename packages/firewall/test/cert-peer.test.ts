import { NebulaCertificate } from '@nebula-ts/cert';
import { describe, expect, it } from 'vitest';
import {
  Conntrack,
  DROP_NONE,
  DROP_REMOTE_IP,
  Firewall,
  FirewallPeer,
  localNetsOf,
  parseFirewallConfig,
} from '../src/index.js';
import { ip, net, pkt } from './helpers.js';

function cert(name: string, ips: string[], subnets: string[] = [], groups: string[] = []): NebulaCertificate {
  return NebulaCertificate.create({
    name,
    ips: ips.map(net),
    subnets: subnets.map(net),
    groups,
    notBefore: 0,
    notAfter: 2_000_000_000,
    publicKey: new Uint8Array(32),
    isCA: false,
    issuer: 'ab'.repeat(32),
  });
}

describe('FirewallPeer.fromCert with @nebula-ts/cert certificates', () => {
  it('takes name, groups, issuer, ips and subnets from the cert', () => {
    const p = FirewallPeer.fromCert(cert('host1', ['203.0.113.2/24'], ['198.51.100.0/24'], ['a', 'b']));
    expect(p).toMatchObject({
      name: 'host1',
      groups: ['a', 'b'],
      issuer: 'ab'.repeat(32),
      vpnIp: ip('203.0.113.2'),
    });
    expect(p.remoteAllowed(ip('198.51.100.9'))).toBe(true);
    expect(p.remoteAllowed(ip('203.0.113.3'))).toBe(false);
  });

  it('drives a full decision with our cert as the local side', () => {
    const fw = new Firewall({
      rules: parseFirewallConfig({
        inbound: [{ port: 'any', proto: 'any', groups: ['a', 'b'], ca_sha: 'ab'.repeat(32) }],
      }),
      conntrack: Conntrack.create({ capacity: 64 }),
      localNets: localNetsOf(cert('me', ['203.0.113.1/24'])),
    });
    const peer = FirewallPeer.fromCert(cert('host1', ['203.0.113.2/24'], [], ['b', 'a']));
    expect(fw.drop(pkt(), true, peer, null)).toBe(DROP_NONE);
    expect(fw.drop(pkt({ remoteIp: ip('203.0.113.3'), localPort: 1 }), true, peer, null)).toBe(
      DROP_REMOTE_IP,
    );
  });
});
