// A page-opening worker thread (see pool.ts): requests in, opened messages out.
import { parentPort, workerData } from "node:worker_threads";
import { openPageHandler } from "../../core/open-page.js";
import { serveJobs } from "../../core/pool.js";
import { type NodeCryptoOptions, nodeCrypto } from "./crypto.js";

const port = parentPort!;
serveJobs(
  { post: (m, transfer) => port.postMessage(m, transfer), listen: (on) => port.on("message", on) },
  openPageHandler(nodeCrypto(workerData as NodeCryptoOptions)),
);
