/**
 * Go computes NotBefore = time.Now() and NotAfter = time.Now().Add(d), then stores `.Unix()`
 * (floor). Nanosecond arithmetic in bigint keeps that exact for any int64 duration.
 */
export function validityWindow(nowMs: number, durationNs: bigint): { notBefore: number; notAfter: number } {
  const nowNs = BigInt(Math.floor(nowMs)) * 1_000_000n;
  const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  return {
    notBefore: Number(floorDiv(nowNs, 1_000_000_000n)),
    notAfter: Number(floorDiv(nowNs + durationNs, 1_000_000_000n)),
  };
}
