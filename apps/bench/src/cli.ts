#!/usr/bin/env node
/**
 * `pnpm bench <case> [args]`: runs `src/cases/<case>.ts`. Cases: lighthouse, firewall, aead, tun, tso, udp,
 * throughput, rtt, hops, cert, faults, replay. With no case, lists them.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cases = readdirSync(join(here, 'cases'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3));
const [name, ...args] = process.argv.slice(2);
if (!name || !cases.includes(name)) {
  console.error(`usage: nebula-bench <case> [args]\ncases: ${cases.join(', ')}`);
  process.exit(name ? 1 : 0);
}
const mod = (await import(`./cases/${name}.js`)) as { run: (args: string[]) => Promise<void> };
await mod.run(args);
