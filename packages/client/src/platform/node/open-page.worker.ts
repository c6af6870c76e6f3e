// A page-opening worker thread (see pool.ts): requests in, opened messages out.
import { workerData } from "node:worker_threads";
import { serveParent } from "@postbox/net/worker";
import { openPageHandler } from "../../core/open-page.js";
import { type NodeCryptoOptions, nodeCrypto } from "./crypto.js";

serveParent(openPageHandler(nodeCrypto(workerData as NodeCryptoOptions)));
