// The browser entry and its worker bundle for a browser: esbuild (platform "browser") follows every
// import, and any `node:` module, native addon or Node-only package that the core or the browser
// platform reaches fails the bundle or is named here. A negative control proves the check bites.

import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const SRC = import.meta.dirname;
const NODE_ONLY = [
  /^node:/,
  /packages\/net\//,
  /node_modules\/secp256k1\//,
  /node_modules\/tiny-secp256k1\//,
];

async function bundle(entry: string | { contents: string }, minify = false, external: string[] = []) {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    ...(typeof entry === "string"
      ? { entryPoints: [resolve(SRC, entry)] }
      : { stdin: { contents: entry.contents, resolveDir: SRC, loader: "ts" as const } }),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome120",
    write: false,
    metafile: true,
    minify,
    external,
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  return { code: result.outputFiles[0]!.contents, inputs: Object.keys(result.metafile.inputs) };
}

/** What a bundle's failure says about each import it could not resolve. */
async function failures(entry: string | { contents: string }): Promise<string[]> {
  try {
    await bundle(entry);
    return [];
  } catch (err) {
    return ((err as { errors?: { text: string }[] }).errors ?? []).map((e) => e.text);
  }
}

describe("the browser entry is isomorphic", () => {
  it.each(["index.browser.ts", "platform/browser/open-page.worker.ts"])(
    "%s bundles for a browser with no node: import, addon or Node-only package",
    async (entry) => {
      expect(await failures(entry)).toEqual([]);
      const { inputs } = await bundle(entry);
      expect(inputs.filter((i) => NODE_ONLY.some((re) => re.test(i)))).toEqual([]);
      // The browser platform, not Node's.
      expect(inputs.some((i) => i.includes("platform/node/"))).toBe(false);
      expect(inputs.some((i) => i.includes("platform/browser/"))).toBe(true);
    },
  );

  it("and the check bites: the Node entry does not bundle for a browser", async () => {
    const errors = await failures({ contents: 'export * from "./index.ts";' });
    expect(errors.some((e) => /node:(os|worker_threads|crypto|module|fs|sqlite)/.test(e))).toBe(true);
  });

  it("stays within its budget: 250 KB gzip of its own, beside the viem an app already loads", async () => {
    const gzip = async (external: string[] = []) => {
      const { code } = await bundle("index.browser.ts", true, external);
      return { minified: code.length, gzip: gzipSync(code, { level: 9 }).length };
    };
    const whole = await gzip();
    const own = await gzip(["viem", "viem/*"]);
    console.info(
      `browser entry (esbuild, minified): ${whole.minified} B, ${whole.gzip} B gzip; without viem (shared with the app's wallet code): ${own.minified} B, ${own.gzip} B gzip`,
    );
    // The SDK's share of the chat page (issue 18, docs/BENCHMARKS.md): 250 KB gzip.
    expect(own.gzip).toBeLessThan(250_000);
  });
});
