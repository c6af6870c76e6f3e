export { noise, noiseFrameLength, usesFastFraming } from "./noise.js";
export { noiseCrypto } from "./noise-crypto.js";
export { tuneGarbageCollection } from "./runtime.js";
export {
  type NativeSecp256k1,
  nativeSecp256k1,
  type Secp256k1,
  Secp256k1Error,
  type Secp256k1Kind,
  secp256k1,
} from "./secp256k1.js";
export { coalesceWrites, tcp } from "./tcp.js";
export {
  type SpawnWorkerOptions,
  serveParent,
  spawnWorker,
  type ThreadPoolOptions,
  threadPool,
  workerModule,
} from "./worker.js";
