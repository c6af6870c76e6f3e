/**
 * @packageDocumentation
 * The `postbox` command. `main(argv)` runs it and returns the exit code.
 */
export { HELP, main } from "./main.js";
export { type Output, stdio, UsageError } from "./output.js";
