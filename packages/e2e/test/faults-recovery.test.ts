/**
 * Faults against our node (issue #10): peer restart, lighthouse restart, 10 % underlay loss and
 * roaming (b's underlay address changes). Each asserts recovery within a generous bound; the
 * measured times (and Go 1.6.1's in the same setup) come from `pnpm bench faults`.
 * FAULTS_IMPL=go runs the same scenarios on Go (to check the scenarios themselves).
 */
import { describe, expect, it } from 'vitest';
import { type FaultKind, requireGoNebula, requireRoot, runFault } from '../src/index.js';

const IMPL = (process.env.FAULTS_IMPL ?? 'ts') as 'ts' | 'go';
const LH = (process.env.FAULTS_LH_IMPL ?? IMPL) as 'ts' | 'go';

const BOUND_MS: Record<FaultKind, number> = {
  'peer-restart': 30_000,
  'peer-crash': 45_000,
  'lighthouse-restart': 45_000,
  loss10: 60_000,
  roam: 30_000,
};

describe(`faults on ${IMPL} nodes (lighthouse ${LH})`, () => {
  for (const kind of Object.keys(BOUND_MS) as FaultKind[]) {
    it(`${kind}: overlay traffic a -> b recovers within ${BOUND_MS[kind] / 1000} s`, async () => {
      requireRoot();
      requireGoNebula();
      const r = await runFault(kind, {
        impl: IMPL,
        lhImpl: LH,
        recoveryTimeoutMs: BOUND_MS[kind],
        log: (l) => console.log(`[faults] ${l}`),
      });
      expect(r.recoveryMs, r.diagnostics).not.toBeNull();
      if (kind === 'loss10') {
        expect(r.extra.tcpShaOk).toBe(true);
        expect(Number(r.extra.pingReceived)).toBeGreaterThan(50); // of 100 with ~19 % round-trip loss
      }
      if (kind === 'lighthouse-restart') {
        expect(r.extra.lhFromA).toBe(true);
        expect(r.extra.lhFromB).toBe(true);
      }
    }, 150_000);
  }
});
