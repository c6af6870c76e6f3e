// A worker for the pool's tests (worker.test.ts): echoes bytes back (moved, not copied), fails a
// job, exits mid-job, or answers late.
import { threadId } from "node:worker_threads";
import { serveParent } from "./worker.js";

export type TestJob =
  | { kind: "echo"; bytes: Uint8Array }
  | { kind: "throw"; message: string }
  | { kind: "exit"; code: number }
  | { kind: "late"; ms: number };

export interface TestResult {
  bytes?: Uint8Array;
  thread: number;
}

serveParent<TestJob, TestResult>(async (job) => {
  switch (job.kind) {
    case "echo":
      return { result: { bytes: job.bytes, thread: threadId }, transfer: [job.bytes.buffer as ArrayBuffer] };
    case "throw":
      throw new RangeError(job.message);
    case "exit":
      process.exit(job.code);
      break;
    case "late":
      await new Promise((r) => setTimeout(r, job.ms));
  }
  return { result: { thread: threadId } };
});
