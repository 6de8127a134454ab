#!/usr/bin/env node
// Long fuzz run: every fuzz test in the workspace with FUZZ_RUNS inputs each (default 1,000,000).
// CI runs the same tests with the short default (2,000). Usage: pnpm fuzz [runs]
import { spawnSync } from 'node:child_process';

const runs = process.argv[2] ?? process.env.FUZZ_RUNS ?? '1000000';
const res = spawnSync('pnpm', ['exec', 'vitest', 'run', '--testNamePattern', 'fuzz', '--testTimeout', '0'], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs },
});
process.exit(res.status ?? 1);
