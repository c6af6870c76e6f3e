// Preloaded into the store benchmark's mailbox with `--mailbox-stock-gc` (`node --import` this
// file): the `postbox` CLI sets `--external-memory-accounted-in-global-limit` at start
// (`tuneGarbageCollection`); this makes that one call a no-op, so the mailbox runs on V8's stock
// settings and the setting's memory and CPU cost can be measured against it.
import { syncBuiltinESMExports } from "node:module";
import v8 from "node:v8";

const set = v8.setFlagsFromString;
v8.setFlagsFromString = (flags: string) => {
  if (!flags.includes("external-memory-accounted-in-global-limit")) set(flags);
};
syncBuiltinESMExports();
