/**
 * Fault recovery, ours beside Go 1.6.1 in the same netns setup (issue #10): peer restart (SIGTERM),
 * peer crash (SIGKILL), lighthouse restart, 10 % underlay loss on both nodes, roaming (b's underlay
 * address changes). Recovery = ms from the fault (or the restarted node being up) to the first ICMP
 * echo a -> b answered over the overlay; loss10 also prints ping loss and a 1 MiB TCP transfer.
 * Every scenario builds a fresh Testnet (lh, a, b, all one implementation), `--rounds` times.
 *
 * `pnpm bench faults [--rounds 3] [--only peer-restart,roam] [--impls go,ts] [--timeout 60000]`
 */
import {
  FAULT_KINDS,
  type FaultKind,
  type FaultResult,
  requireGoNebula,
  requireRoot,
  runFault,
} from '@nebula-ts/e2e';
import { median } from '../harness.js';

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<void> {
  requireRoot();
  requireGoNebula();
  const rounds = Number(arg(args, 'rounds') ?? 3);
  const kinds = (arg(args, 'only')?.split(',') ?? FAULT_KINDS) as FaultKind[];
  const impls = (arg(args, 'impls')?.split(',') ?? ['go', 'ts']) as Array<'go' | 'ts'>;
  const timeout = Number(arg(args, 'timeout') ?? 60_000);
  const rows: Array<{ kind: FaultKind; impl: string; results: FaultResult[] }> = [];
  for (const kind of kinds) {
    for (const impl of impls) {
      const results: FaultResult[] = [];
      for (let r = 0; r < rounds; r++) {
        const res = await runFault(kind, { impl, recoveryTimeoutMs: timeout });
        console.error(
          `${kind} ${impl} round ${r + 1}: ${res.recoveryMs ?? 'not recovered'} ms ${JSON.stringify(res.extra)}`,
        );
        results.push(res);
      }
      rows.push({ kind, impl, results });
    }
  }
  console.log(
    `\nfault recovery (ms to the first a -> b echo reply; median of ${rounds}, all rounds in brackets)\n`,
  );
  console.log('| fault | impl | recovery ms (median) | rounds | recovered | extra (last round) |');
  console.log('|---|---|---:|---|---:|---|');
  for (const { kind, impl, results } of rows) {
    const ok = results.filter((r) => r.recoveryMs !== null).map((r) => r.recoveryMs as number);
    const last = results[results.length - 1]?.extra ?? {};
    console.log(
      `| ${kind} | ${impl} | ${ok.length ? median(ok) : '-'} | [${results.map((r) => r.recoveryMs ?? 'x').join(', ')}] | ${ok.length}/${results.length} | ${Object.entries(
        last,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')} |`,
    );
  }
}
