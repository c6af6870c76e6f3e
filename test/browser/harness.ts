/**
 * Runs code of the SDK in real Chromium: esbuild bundles an entry module for the browser
 * (`platform: "browser"`, so a `node:` import fails the bundle), a tiny HTTP server serves it on
 * 127.0.0.1 (a secure context: WebCrypto, Web Locks), and playwright-core drives Chromium with a
 * fresh profile.
 *
 * The entry registers its suites on the page: `globalThis.postboxSuites = { name: () => Case[] }`
 * (`Case` as in `packages/client/src/storage/contract.ts`: `{ name, run(): Promise<string | undefined> }`);
 * {@link BrowserHarness.runCase} runs one case in a page and returns its result. Anything else an
 * entry puts on `globalThis` is there for `page.evaluate`.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.POSTBOX_CHROMIUM ?? "/usr/bin/chromium";

/** Browser tests run where Chromium is installed, and always under CI (where a missing browser fails them). */
export const RUN_BROWSER_TESTS = existsSync(CHROMIUM) || Boolean(process.env.CI);

export const REPO = resolve(import.meta.dirname, "../..");

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** A module to bundle: a file (relative to the repository) or source text (its imports resolve from the repository). */
export type Entry = string | { contents: string };

export interface HarnessOptions {
  /** The page's module. */
  entry: Entry;
  /** More modules, served as `/<name>.js` (e.g. workers). */
  modules?: Record<string, Entry>;
  /** Chromium flags beside the harness's own. */
  args?: string[];
}

export interface CaseResult {
  name: string;
  ok: boolean;
  ms: number;
  /** What the case printed (a timing). */
  note?: string;
  error?: string;
}

export interface BrowserHarness {
  /** The page's address (http://127.0.0.1:port/). */
  readonly url: string;
  /** One profile: every page shares its IndexedDB and Web Locks. */
  readonly context: BrowserContext;
  /** Console errors, uncaught errors and failed requests of every page, in order. */
  readonly problems: string[];
  /** A new tab with the entry loaded. */
  newPage(): Promise<Page>;
  /** Runs case `name` of suite `suite` in `page`. */
  runCase(page: Page, suite: string, name: string): Promise<CaseResult>;
  close(): Promise<void>;
}

/** Bundles a module for the browser (an ES module; a `node:` import is an error). */
export async function bundleForBrowser(entry: Entry): Promise<{ code: string; inputs: string[] }> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    ...(typeof entry === "string"
      ? { entryPoints: [resolve(REPO, entry)] }
      : {
          stdin: {
            contents: entry.contents,
            resolveDir: REPO,
            sourcefile: "entry.ts",
            loader: "ts" as const,
          },
        }),
    absWorkingDir: REPO,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome120",
    write: false,
    metafile: true,
    sourcemap: "inline",
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

export async function startBrowserHarness(options: HarnessOptions): Promise<BrowserHarness> {
  const files = new Map<string, { type: string; body: string }>();
  files.set("/", {
    type: "text/html; charset=utf-8",
    body: '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>postbox</title><script type="module" src="/entry.js"></script>',
  });
  const modules = { entry: options.entry, ...options.modules };
  for (const [name, entry] of Object.entries(modules))
    files.set(`/${name}.js`, {
      type: "text/javascript; charset=utf-8",
      body: (await bundleForBrowser(entry)).code,
    });

  const server = createServer((req, res) => {
    const file = files.get(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(file.body);
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", ok);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const profile = mkdtempSync(join(tmpdir(), "postbox-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...FLAGS, ...(options.args ?? [])],
    });
  } catch (err) {
    server.close();
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  for (const page of context.pages()) await page.close(); // the blank tab a persistent context opens

  const problems: string[] = [];
  return {
    url,
    context,
    problems,
    async newPage() {
      const page = await context.newPage();
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("requestfailed", (r) =>
        problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`),
      );
      await page.goto(url);
      await page.waitForFunction(() => "postboxSuites" in globalThis);
      return page;
    },
    runCase(page, suite, name) {
      return page.evaluate(
        async ([suite, name]) => {
          const suites = (globalThis as unknown as { postboxSuites: Record<string, () => PageCase[]> })
            .postboxSuites;
          const found = suites[suite]?.().find((c) => c.name === name);
          if (!found) return { name, ok: false, ms: 0, error: `no case "${name}" in suite "${suite}"` };
          const start = performance.now();
          try {
            const note = await found.run();
            return { name, ok: true, ms: performance.now() - start, ...(note ? { note } : {}) };
          } catch (err) {
            const error =
              err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : String(err);
            return { name, ok: false, ms: performance.now() - start, error };
          }
        },
        [suite, name] as const,
      );
    },
    async close() {
      await context.close().catch(() => undefined);
      await new Promise((ok) => server.close(ok));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

interface PageCase {
  name: string;
  run(): Promise<string | undefined>;
}
