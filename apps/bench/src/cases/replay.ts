/**
 * `pnpm bench replay`: the receive path's replay window per packet, `check` before decryption and
 * `update` after, on a window in a SharedArrayBuffer as the routines use it (one thread here, so
 * the lock is never contended). ns per packet by CPU time.
 * Args: `--quick` for a short run (CI smoke).
 */
import { ReplayWindow } from '@nebula-ts/protocol';
import { measure, type OpResult, printTable } from '../harness.js';

function sharedWindow(): ReplayWindow {
  const words = new Int32Array(new SharedArrayBuffer(ReplayWindow.WORDS * 4 * 2));
  return ReplayWindow.initAfterHandshake(words, ReplayWindow.WORDS);
}

export async function run(args: string[]): Promise<void> {
  const ops = args.includes('--quick') ? 200_000 : 5_000_000;
  const rows: OpResult[] = [];

  const inOrder = sharedWindow();
  let next = 3;
  rows.push(
    measure('check + update, in order', ops, () => {
      if (inOrder.check(next)) inOrder.update(next);
      next++;
    }),
  );

  // Pairs swapped (2,1,4,3,...): every other packet fills a hole behind the newest counter.
  const swapped = sharedWindow();
  let base = 3;
  rows.push(
    measure('check + update, pairs swapped', ops, (i) => {
      const c = base + (i & 1 ? 0 : 1);
      if (swapped.check(c)) swapped.update(c);
      if (i & 1) base += 2;
    }),
  );

  // A replayed counter: check refuses it, nothing is written.
  const replayed = sharedWindow();
  for (let c = 3; c < 1000; c++) replayed.update(c);
  rows.push(measure('check of a replay', ops, (i) => void replayed.check(500 + (i & 255))));

  printTable(rows);
}
