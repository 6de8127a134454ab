/**
 * V8 tiering for a packet forwarder. The data path runs once per packet batch, so at interactive
 * rates (pings, SSH keystrokes, keepalives) V8's defaults keep it in the interpreter and then the
 * baseline tier for hundreds of batches: measured ~0.3–0.5 ms more overlay RTT per node pair over a
 * fresh node's first few hundred pings. Baseline code from the first call (`--always-sparkplug`)
 * and a smaller interrupt budget let TurboFan take the hot functions after a few dozen batches,
 * for ~6 MiB more RSS. 128 rather than 512: the first 50 pings of a fresh TS→Go pair went from a
 * median 0.60 to 0.56 ms over 8 interleaved reps, with no change later on or in throughput.
 * Imported first by the `nebula` bin, before the data path's modules run; the flags are
 * process-wide, so routine worker threads get them too. Embedders can pass the same flags to node.
 */
import { setFlagsFromString } from 'node:v8';

export const V8_TIERING_FLAGS = ['--always-sparkplug', '--interrupt-budget=128'] as const;

for (const flag of V8_TIERING_FLAGS) setFlagsFromString(flag);
