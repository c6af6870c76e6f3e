export { noise, noiseFrameLength, usesFastFraming } from "./noise.js";
export { noiseCrypto } from "./noise-crypto.js";
export { tuneGarbageCollection } from "./runtime.js";
export { coalesceWrites, tcp } from "./tcp.js";
export {
  type SpawnWorkerOptions,
  serveParent,
  spawnWorker,
  type ThreadPoolOptions,
  threadPool,
  workerModule,
} from "./worker.js";
