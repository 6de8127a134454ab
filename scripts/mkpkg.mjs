// One-off scaffolding used when the workspace was laid out; kept so new packages look the same.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, name, desc, depsCsv = '', kind = 'ts', extraDepsCsv = ''] = process.argv.slice(2);
const ws = depsCsv ? depsCsv.split(',') : [];
const ext = extraDepsCsv ? extraDepsCsv.split(',') : [];
const versions = {
  '@noble/curves': '2.4.0',
  '@noble/ciphers': '2.4.0',
  '@noble/hashes': '2.4.0',
  rxjs: '7.8.2',
  pino: '10.4.0',
  'prom-client': '15.1.3',
  yaml: '2.9.1',
  'node-addon-api': '8.9.2',
};
mkdirSync(join(dir, 'src'), { recursive: true });
mkdirSync(join(dir, 'test'), { recursive: true });
const deps = {};
for (const w of ws) deps[`@nebula-ts/${w}`] = 'workspace:*';
for (const e of ext) deps[e] = versions[e];
const isPrivate = dir.startsWith('apps/') || name.endsWith('/e2e');
const pkg = {
  name,
  version: '0.1.0',
  description: desc,
  license: 'MIT',
  type: 'module',
  ...(isPrivate ? { private: true } : {}),
  engines: { node: '>=20.19.0' },
  sideEffects: false,
  exports: {
    '.': { types: './dist/index.d.ts', import: './dist/index.js' },
    './package.json': './package.json',
  },
  files: kind === 'native' ? ['dist', 'src', 'binding.gyp'] : ['dist', 'src'],
  scripts: {
    build: 'tsc -b',
    ...(kind === 'native' ? { install: 'node-gyp rebuild', 'build:native': 'node-gyp build' } : {}),
    ...(isPrivate ? {} : { publint: 'publint --strict' }),
  },
  ...(kind === 'native' ? { gypfile: true } : {}),
  dependencies:
    kind === 'native'
      ? { ...deps, 'node-addon-api': '8.9.2', '@nebula-ts/native-common': 'workspace:*' }
      : deps,
  ...(kind === 'native' ? { devDependencies: { 'node-gyp': '11.5.0' } } : {}),
};
if (!existsSync(join(dir, 'package.json')))
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
const tsconfig = {
  extends: '../../tsconfig.base.json',
  compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' },
  include: ['src'],
  references: ws.filter((w) => w !== 'native-common').map((w) => ({ path: `../../packages/${w}` })),
};
writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2) + '\n');
writeFileSync(
  join(dir, 'vitest.config.mjs'),
  `import { defineProject } from 'vitest/config';\n\nexport default defineProject({\n  test: { name: '${name.replace('@nebula-ts/', '')}', include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 },\n});\n`,
);
if (!existsSync(join(dir, 'src/index.ts')))
  writeFileSync(join(dir, 'src/index.ts'), `/**\n * @packageDocumentation\n * ${desc}\n */\nexport {};\n`);
