#!/usr/bin/env node
// Long fuzz run: every fuzz property in the workspace with FUZZ_RUNS inputs each (default 1,000,000),
// then a per-decoder table of the inputs fast-check actually ran. CI runs the same tests with the
// short default (2,000 in each test file).
//
//   pnpm fuzz [runs] [--only protocol,cert] [--all]
//
// Selection (robust to test renames): every test file under packages/*/test and apps/*/test that
// reads FUZZ_RUNS, and inside those the tests whose full name (describe + it) says fuzz, random,
// arbitrary, garbage, mutat or model (`--all`: every test of those files). Files that spawn a
// process per input (apps/nebula-cli) are left out unless --all, as 1M processes cannot finish.
// Counting: a module preloaded into the vitest workers installs a fast-check global reporter that records numRuns of
// every fc.assert (and still throws on failure, with fast-check's own report).
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const all = argv.includes('--all');
const onlyIdx = argv.indexOf('--only');
const only = onlyIdx >= 0 ? (argv[onlyIdx + 1] ?? '').split(',').filter(Boolean) : null;
const runs =
  argv.find((a, i) => /^\d+$/.test(a) && argv[i - 1] !== '--only') ?? process.env.FUZZ_RUNS ?? '1000000';
const NAME_PATTERN = all ? '.' : 'fuzz|random|arbitrary|garbage|mutat|model';
const SPAWNS_PROCESSES = /^apps\/nebula-cli\//;

function testFiles(dir) {
  const out = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (e === 'node_modules' || e === 'dist') continue;
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (e.endsWith('.test.ts') && readFileSync(p, 'utf8').includes('FUZZ_RUNS')) out.push(p);
  }
  return out;
}

const files = [];
for (const group of ['packages', 'apps'])
  for (const pkg of readdirSync(join(root, group))) {
    const rel = `${group}/${pkg}`;
    if (only && !only.includes(pkg)) continue;
    for (const f of testFiles(join(root, rel, 'test'))) {
      const r = relative(root, f);
      if (!all && SPAWNS_PROCESSES.test(r)) continue;
      files.push(r);
    }
  }
if (files.length === 0) {
  console.error('fuzz-long: no test file reads FUZZ_RUNS (check --only)');
  process.exit(1);
}

// fast-check as the tests resolve it (one copy in the workspace: the root devDependency).
const fcPath = realpathSync(createRequire(join(root, 'package.json')).resolve('fast-check'));
const fcEsm = fcPath.replace(/lib[/\\]cjs[/\\]fast-check\.js$/, 'lib/fast-check.js');
const tmp = mkdtempSync(join(tmpdir(), 'nebula-fuzz-'));
const countsFile = join(tmp, 'counts.jsonl');
writeFileSync(countsFile, '');
const setup = join(tmp, 'fuzz-count-setup.mjs');
writeFileSync(
  setup,
  `import { appendFileSync } from 'node:fs';
// Preloaded into every vitest worker (NODE_OPTIONS=--import): vitest keeps the current test's name in
// the jest-compatible matchers state.
const state = () => globalThis[Symbol.for('$$jest-matchers-object')]?.state ?? {};
const load = async (p) => { try { return await import(p); } catch { return null; } };
for (const m of [await load(${JSON.stringify(pathToFileURL(fcEsm).href)}), await load(${JSON.stringify(pathToFileURL(fcPath).href)})]) {
  const fc = m?.default ?? m;
  if (!fc?.configureGlobal) continue;
  const record = (d) => {
    appendFileSync(${JSON.stringify(countsFile)}, JSON.stringify({ file: state().testPath ?? '', test: state().currentTestName ?? '', runs: d.numRuns, skips: d.numSkips, failed: d.failed }) + '\\n');
    if (d.failed) throw new Error(fc.defaultReportMessage(d));
  };
  fc.configureGlobal({ ...fc.readConfigureGlobal(), reporter: record });
}
`,
);

console.log(`fuzz-long: ${files.length} files, FUZZ_RUNS=${runs}, tests matching /${NAME_PATTERN}/i`);
const started = Date.now();
const res = spawnSync(
  'pnpm',
  [
    'exec',
    'vitest',
    'run',
    ...files,
    '--testNamePattern',
    NAME_PATTERN,
    '--testTimeout',
    '0',
    '--hookTimeout',
    '0',
  ],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      FUZZ_RUNS: runs,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(setup).href}`.trim(),
    },
  },
);

const rows = new Map();
for (const line of readFileSync(countsFile, 'utf8').split('\n')) {
  if (!line) continue;
  const r = JSON.parse(line);
  const key = `${relative(root, r.file) || '?'} > ${r.test}`;
  const cur = rows.get(key) ?? { runs: 0, asserts: 0, failed: false };
  cur.runs += r.runs;
  cur.asserts += 1;
  cur.failed ||= r.failed;
  rows.set(key, cur);
}
console.log(
  `\nfuzz-long: inputs per property (FUZZ_RUNS=${runs}, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
);
console.log('| test | fc.assert calls | inputs run | result |');
console.log('|---|---:|---:|---|');
let total = 0;
for (const [k, v] of [...rows].sort()) {
  total += v.runs;
  console.log(`| ${k} | ${v.asserts} | ${v.runs.toLocaleString('en-US')} | ${v.failed ? 'FAILED' : 'ok'} |`);
}
console.log(`\ntotal inputs: ${total.toLocaleString('en-US')}`);
if (rows.size === 0)
  console.log('(no fast-check run was recorded: the counting reporter did not load; see the vitest output)');
rmSync(tmp, { recursive: true, force: true });
process.exit(res.status ?? 1);
