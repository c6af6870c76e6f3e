import { setFlagsFromString } from "node:v8";

/**
 * Tunes V8's garbage collector for a process that moves many large buffers over libp2p: memory
 * outside the JavaScript heap (pages read, encoded, enciphered, deciphered: a few hundred KB per
 * page of history) counts in V8's heap limit, which grows with the live heap, instead of forcing a
 * full collection after every fixed 64 MB of it. Serving or reading 400 pages a second, that fixed
 * step meant a full collection of the whole heap every 0.3 s, whose marking threads took a fifth
 * to a quarter of two cores (docs/BENCHMARKS.md, "store"); resident memory grows by tens of MB.
 * Process-wide, so for applications, not libraries: the `postbox` CLI calls it for every command.
 * Idempotent.
 */
export function tuneGarbageCollection(): void {
  setFlagsFromString("--external-memory-accounted-in-global-limit");
}
