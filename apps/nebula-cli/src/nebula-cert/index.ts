/** The `nebula-cert` command (Go nebula-cert 1.6.1 compatible), runnable in-process. */
export { type CertCliContext, CertCliError } from './context.js';
export { parseGoDuration } from './go-duration.js';
export { globalHelp, modeHelp, PROGRAM, VERSION } from './help.js';
export { runNebulaCert } from './main.js';
