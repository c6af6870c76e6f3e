import { tuneGarbageCollection } from "@postbox/node";
import { main } from "./main.js";

// Every command is a process of ours (mailbox, prober, chat client): tune V8 for moving pages.
tuneGarbageCollection();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`postbox: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
