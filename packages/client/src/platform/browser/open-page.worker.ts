// A page-opening Web Worker (see pool.ts): requests in, opened messages out.
import { openPageHandler } from "../../core/open-page.js";
import { serveJobs } from "../../core/pool.js";
import { browserCrypto } from "./crypto.js";

serveJobs(
  {
    post: (m, transfer) => globalThis.postMessage(m, { transfer }),
    listen: (on) => globalThis.addEventListener("message", (e) => on((e as MessageEvent).data)),
  },
  openPageHandler(browserCrypto()),
);
