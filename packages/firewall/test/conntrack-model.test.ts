/**
 * Model-based test: random sequences of packets, clock steps and reloads through Firewall.drop vs a
 * plain Map model of firewall.md §3–§5 (lookup first; expired = gone; older rules version →
 * re-match the creating direction; pass → add/refresh). Capacity is large so nothing is evicted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Conntrack,
  DROP_NO_RULE,
  DROP_NONE,
  Firewall,
  type FirewallPacket,
  localNetsOf,
  parseFirewallConfig,
} from '../src/index.js';
import { ME, peer, pkt } from './helpers.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

const RULESETS = [
  { inbound: [{ port: 'any', proto: 'any', host: 'any' }] },
  { outbound: [{ port: 'any', proto: 'any', host: 'any' }] },
  {
    inbound: [{ port: 10, proto: 'udp', host: 'any' }],
    outbound: [{ port: 90, proto: 'any', group: 'default-group' }],
  },
  { inbound: [{ port: 11, proto: 'tcp', host: 'any' }] },
  {},
].map((raw) => ({ ...raw, conntrack: { tcp_timeout: '3s', udp_timeout: '1s', default_timeout: '2s' } }));

type Op =
  | { kind: 'packet'; port: number; protocol: number; incoming: boolean }
  | { kind: 'tick'; units: number }
  | { kind: 'reload'; rules: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('packet' as const),
      port: fc.constantFrom(10, 11, 12),
      protocol: fc.constantFrom(6, 17, 1),
      incoming: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), units: fc.integer({ min: 1, max: 25 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('reload' as const), rules: fc.nat(RULESETS.length - 1) }),
  },
);

describe('conntrack vs a Map model', () => {
  it('gives the same decisions for random packet / clock / reload sequences', () => {
    fc.assert(
      fc.property(
        fc.nat(RULESETS.length - 1),
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        (first, ops) => {
          const ct = Conntrack.create({ capacity: 4096 });
          let fw = new Firewall({
            rules: parseFirewallConfig(RULESETS[first]),
            conntrack: ct,
            localNets: localNetsOf(ME),
          });
          const model = new Map<string, { expires: number; incoming: boolean; version: number }>();
          const who = peer();
          for (const op of ops) {
            if (op.kind === 'tick') {
              ct.setNow(ct.now() + op.units);
              continue;
            }
            if (op.kind === 'reload') {
              fw = fw.reload(parseFirewallConfig(RULESETS[op.rules]));
              continue;
            }
            // a flow is (our port 10..12 ↔ their port 90); direction only changes which side sent it
            const p: FirewallPacket = pkt({
              protocol: op.protocol,
              localPort: op.protocol === 1 ? 0 : op.port,
              remotePort: op.protocol === 1 ? 0 : 90,
            });
            const key = `${p.localPort}/${p.protocol}`;
            const now = ct.now();
            const timeout = p.protocol === 6 ? 30 : p.protocol === 17 ? 10 : 20;
            let want: number;
            const e = model.get(key);
            let hit = false;
            if (e && e.expires > now) {
              if (e.version !== fw.rulesVersion && !fw.matchRules(p, e.incoming, who)) model.delete(key);
              else {
                e.version = fw.rulesVersion;
                e.expires = now + timeout;
                hit = true;
              }
            } else if (e) model.delete(key);
            if (hit) want = DROP_NONE;
            else if (fw.matchRules(p, op.incoming, who)) {
              model.set(key, { expires: now + timeout, incoming: op.incoming, version: fw.rulesVersion });
              want = DROP_NONE;
            } else want = DROP_NO_RULE;
            expect(fw.drop(p, op.incoming, who, null)).toBe(want);
          }
          let live = 0;
          for (const e of model.values()) if (e.expires > ct.now()) live++;
          ct.sweep(1 << 20);
          expect(ct.stats().count).toBe(live);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
