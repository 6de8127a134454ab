/**
 * V8 tiering for a packet forwarder. The data path runs once per packet batch, so at interactive
 * rates (pings, SSH keystrokes, keepalives) V8's default interrupt budget keeps it in the baseline
 * tier for many hundreds of batches — measured: ~0.3 ms more overlay RTT per node pair. A smaller
 * budget lets TurboFan take the hot functions after a few dozen batches, for ~5 MiB more RSS.
 * Imported first by the `nebula` bin, before the data path's modules run; the flag is
 * process-wide, so routine worker threads get it too. Embedders can run node with the same flag.
 */
import { setFlagsFromString } from 'node:v8';

export const INTERRUPT_BUDGET = 2048;

setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
