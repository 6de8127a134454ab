import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFirewallConfigError, parseFirewallConfig } from '../src/index.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

const scalar = fc.oneof(
  fc.constantFrom(
    'any',
    'tcp',
    'udp',
    'icmp',
    'fragment',
    '0-5',
    '80',
    '1-65535',
    '10.0.0.0/8',
    '0.0.0.0/0',
    'fd00::/64',
    '',
    'a-b',
  ),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 70000 }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }));
const rule = fc.dictionary(
  fc.constantFrom('port', 'code', 'proto', 'host', 'group', 'groups', 'cidr', 'ca_name', 'ca_sha', 'other'),
  value,
  { maxKeys: 6 },
);

describe('parseFirewallConfig fuzz', () => {
  it('either parses (and hashes) or throws FirewallConfigError with a path inside the section', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.array(fc.oneof(rule, scalar), { maxLength: 4 }), scalar),
        fc.array(rule, { maxLength: 3 }),
        (inbound, outbound) => {
          try {
            const r = parseFirewallConfig({ inbound, outbound });
            expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
            expect(r.ruleText.split('\n').length - 1).toBe(r.inbound.length + r.outbound.length);
          } catch (e) {
            expect(isFirewallConfigError(e)).toBe(true);
            expect((e as { path: string }).path).toMatch(/^firewall\.(inbound|outbound)(\[\d+\](\.\w+)?)?$/);
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
