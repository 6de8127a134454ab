#!/usr/bin/env node
/** `nebula-cert`: create, sign, print and verify Nebula certificates (Go nebula-cert 1.6.1 CLI). */
import { runNebulaCert } from '../nebula-cert/main.js';

try {
  process.exitCode = await runNebulaCert(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
} catch (e) {
  // A bug, not a user error: still exit 1 with an `Error:` line rather than a stack dump.
  process.stderr.write(`Error: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env.NEBULA_CERT_DEBUG) console.error(e);
  process.exitCode = 1;
}
