// The typed pool (@postbox/protocol/pool) on real worker threads (spawnWorker), with a worker module
// run from its TypeScript source (pool-worker.testkit.ts) as every package's tests run theirs.
import { spawn } from "node:child_process";
import { inlinePool, WorkerError, type WorkerPool, workerPool } from "@postbox/protocol/pool";
import { afterEach, describe, expect, it } from "vitest";
import type { TestJob, TestResult } from "./pool-worker.testkit.js";
import { spawnWorker, workerModule } from "./worker.js";

const MODULE = new URL("./pool-worker.testkit.ts", import.meta.url);
const spawnTest = () => spawnWorker(MODULE, { name: "pool test" });
const inline = async (job: TestJob) => {
  if (job.kind === "echo") return { result: { bytes: job.bytes, thread: 0 } };
  if (job.kind === "throw") throw new RangeError(job.message);
  return { result: { thread: 0 } };
};

let pool: WorkerPool<TestJob, TestResult> | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("workerModule", () => {
  it("names the built module next to a built caller, and the source next to a source", () => {
    expect(workerModule("file:///p/dist/archive/sqlite.js", "page-reader").href).toBe(
      "file:///p/dist/archive/page-reader.worker.js",
    );
    expect(workerModule("file:///p/src/archive/sqlite.ts", "page-reader").href).toBe(
      "file:///p/src/archive/page-reader.worker.ts",
    );
  });
});

describe("a pool of worker threads", () => {
  it("spreads concurrent jobs over its workers and gives each its own reply", async () => {
    pool = workerPool<TestJob, TestResult>({ size: 2, spawn: spawnTest });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => pool!.run({ kind: "echo", bytes: new Uint8Array([i, i + 1]) })),
    );
    expect(results.map((r) => [...r.bytes!])).toEqual(Array.from({ length: 40 }, (_, i) => [i, i + 1]));
    expect(new Set(results.map((r) => r.thread)).size).toBe(2);
  });

  it("moves the buffers it is told to, both ways", async () => {
    pool = workerPool<TestJob, TestResult>({ size: 1, spawn: spawnTest });
    const bytes = new Uint8Array(1 << 20).fill(7);
    const out = await pool.run({ kind: "echo", bytes }, [bytes.buffer]);
    expect(bytes.byteLength).toBe(0); // moved to the worker
    expect(out.bytes!.byteLength).toBe(1 << 20); // and moved back
    expect(out.bytes![12345]).toBe(7);
  });

  it("fails a job whose handler throws with its error, and runs the next", async () => {
    pool = workerPool<TestJob, TestResult>({ size: 1, spawn: spawnTest });
    const failed = await pool.run({ kind: "throw", message: "no such page" }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(WorkerError);
    expect(failed).toMatchObject({ reason: "job failed", details: "RangeError: no such page" });
    expect((await pool.run({ kind: "echo", bytes: new Uint8Array([1]) })).bytes).toEqual(new Uint8Array([1]));
    expect(pool.failure).toBeUndefined();
  });

  it("fails the jobs of a worker that exits, and every later one, and says so in `failure`", async () => {
    pool = workerPool<TestJob, TestResult>({ size: 1, spawn: spawnTest });
    const late = pool.run({ kind: "late", ms: 60_000 });
    const exit = pool.run({ kind: "exit", code: 3 });
    await expect(late).rejects.toMatchObject({ reason: "worker failed", details: "exited with code 3" });
    await expect(exit).rejects.toThrow(/a worker failed/);
    expect(pool.failure).toBeInstanceOf(WorkerError);
    await expect(pool.run({ kind: "echo", bytes: new Uint8Array(1) })).rejects.toBe(pool.failure);
  });

  it("fails every job of a worker that cannot load", async () => {
    pool = workerPool<TestJob, TestResult>({
      size: 1,
      spawn: () => spawnWorker(new URL("./no-such.worker.ts", import.meta.url)),
    });
    await expect(pool.run({ kind: "echo", bytes: new Uint8Array(1) })).rejects.toMatchObject({
      reason: "worker failed",
    });
    expect(pool.failure?.details).toMatch(/no-such\.worker\.ts/);
  });

  it("with a fallback, runs a dead worker's jobs and the later ones on the calling thread", async () => {
    pool = workerPool<TestJob, TestResult>({ size: 1, spawn: spawnTest, fallback: inline });
    const late = pool.run({ kind: "late", ms: 60_000 });
    await pool.run({ kind: "exit", code: 1 });
    expect((await late).thread).toBe(0);
    expect((await pool.run({ kind: "echo", bytes: new Uint8Array([5]) })).thread).toBe(0);
    expect(pool.failure).toBeUndefined();
  });

  it("refuses jobs once closed", async () => {
    pool = workerPool<TestJob, TestResult>({ size: 1, spawn: spawnTest });
    await pool.close();
    await expect(pool.run({ kind: "echo", bytes: new Uint8Array(1) })).rejects.toMatchObject({
      reason: "closed",
    });
  });

  it("runs jobs inline at size 0", async () => {
    const none = inlinePool(inline);
    expect((await none.run({ kind: "echo", bytes: new Uint8Array([2]) })).bytes).toEqual(new Uint8Array([2]));
    expect(() => workerPool({ size: 0, spawn: spawnTest })).toThrow(RangeError);
  });
});

describe("a pool and its process", () => {
  /**
   * A Node process that starts a pool, runs `script` with it, and never closes it; killed if it is
   * still running after 20 s (an idle worker that holds it).
   */
  const run = (script: string) =>
    new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `const { spawnWorker } = await import(${JSON.stringify(new URL("./worker.ts", import.meta.url).href)});
           const { workerPool } = await import("@postbox/protocol/pool");
           const pool = workerPool({ size: 1, spawn: () => spawnWorker(new URL(${JSON.stringify(MODULE.href)})) });
           ${script}`,
        ],
        {
          cwd: new URL(".", import.meta.url),
          stdio: ["ignore", "pipe", "inherit"],
          // Plain output whatever the test runner's terminal (CI sets FORCE_COLOR).
          env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
        },
      );
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.on("error", reject);
      child.on("exit", (code) => {
        clearTimeout(kill);
        resolve({ code, out });
      });
    });

  it("is kept alive while a job runs, and not by an idle pool", async () => {
    // Nothing else holds the event loop: the late job alone keeps the process until it answers,
    // and the pool, idle again, lets the process end without being closed.
    const { code, out } = await run(
      `pool.run({ kind: "late", ms: 500 }).then(() => console.log("answered"));`,
    );
    expect(code).toBe(0);
    expect(out.trim()).toBe("answered");
  });

  it("is not kept alive by a pool that never had a job", async () => {
    const { code, out } = await run(`console.log("spawned " + pool.size);`);
    expect(code).toBe(0); // not killed after 20 s
    expect(out.trim()).toBe("spawned 1");
  });
});
