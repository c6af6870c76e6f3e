export { noise, noiseFrameLength, usesFastFraming } from "./noise.js";
export { noiseCrypto } from "./noise-crypto.js";
export { coalesceWrites, isCoalesced, tcp } from "./tcp.js";
