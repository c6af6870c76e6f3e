export { noise, noiseFrameLength, usesFastFraming } from "./noise.js";
export { noiseCrypto } from "./noise-crypto.js";
export { coalesceWrites, tcp } from "./tcp.js";
