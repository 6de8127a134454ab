/** What both rtt reports share: the phases a run has, and a loss cell. */

/** A ping series on fresh nodes, or the one after an iperf3 burst. */
export type Phase = 'fresh' | 'after traffic';

/** The phases a run with `trafficSec` of iperf3 between them measures. */
export const phasesOf = (trafficSec: number): Phase[] =>
  trafficSec > 0 ? ['fresh', 'after traffic'] : ['fresh'];

/** `lost/sent` over the series or blocks of one table row. */
export function lossCell(rows: readonly { sent: number; received: number }[]): string {
  const sent = rows.reduce((n, r) => n + r.sent, 0);
  const received = rows.reduce((n, r) => n + r.received, 0);
  return `${sent - received}/${sent}`;
}
