/** `nebula-cert` entry: global flags, mode dispatch and Go's error/usage printing and exit codes. */
import { runCa } from './ca.js';
import { type CertCliContext, CertCliError } from './context.js';
import { FlagHelpRequested, FlagParseError, GoFlagSet } from './go-flag.js';
import { globalHelp, isMode, type Mode, modeHelp, VERSION } from './help.js';
import { runKeygen } from './keygen.js';
import { runPrint } from './print.js';
import { runSign } from './sign.js';
import { runVerify } from './verify.js';

const MODES: Record<Mode, (args: readonly string[], ctx: CertCliContext) => Promise<void>> = {
  ca: runCa,
  keygen: runKeygen,
  sign: runSign,
  print: runPrint,
  verify: runVerify,
};

/** Runs nebula-cert with `argv` (without node and script); returns the exit code. */
export async function runNebulaCert(argv: readonly string[], ctx: CertCliContext): Promise<number> {
  const global = new GoFlagSet()
    .bool('version', 'Print version')
    .bool('help', 'Print command line usage')
    .bool('h', 'Print command line usage');
  try {
    global.parse(argv);
  } catch (e) {
    if (e instanceof FlagParseError) {
      ctx.stderr(`${e.message}\n${globalHelp()}`);
      return 1;
    }
    throw e;
  }
  const printUsage = global.getBool('h') || global.getBool('help');
  const args = global.rest;
  if (global.getBool('version')) {
    ctx.stdout(`Version: ${VERSION}\n`);
    return 0;
  }
  const mode = args[0];
  if (mode === undefined) {
    ctx.stderr(printUsage ? globalHelp() : globalHelp('No mode was provided'));
    return printUsage ? 0 : 1;
  }
  if (printUsage) {
    if (isMode(mode)) ctx.stderr(modeHelp(mode));
    return 0;
  }
  if (!isMode(mode)) {
    ctx.stderr(`Error: unknown mode: ${mode}\n`);
    return 1;
  }
  try {
    await MODES[mode](args.slice(1), ctx);
    return 0;
  } catch (e) {
    if (e instanceof FlagHelpRequested) {
      ctx.stderr(modeHelp(mode));
      return 0;
    }
    if (e instanceof FlagParseError) {
      // Go's flag package prints the error itself, then nebula-cert prints it again.
      ctx.stderr(`${e.message}\nError: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CertCliError) {
      ctx.stderr(`Error: ${e.message}\n${e.showHelp ? modeHelp(mode) : ''}`);
      return 1;
    }
    throw e;
  }
}
