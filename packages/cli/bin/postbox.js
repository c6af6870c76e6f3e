#!/usr/bin/env node
// The `postbox` command. Runs the compiled CLI (npm run build); kept as plain JavaScript so that
// npm can link it before the first build.
import("../dist/bin.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND") {
    process.stderr.write("postbox: the CLI is not built yet; run `npm run build` in the repository first\n");
    process.exit(1);
  }
  throw err;
});
