import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`postbox: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
