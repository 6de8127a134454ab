#!/usr/bin/env node
import './v8-tiering.js';
import { main } from '../cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`nebula: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
