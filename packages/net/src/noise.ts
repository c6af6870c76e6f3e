import {
  noise as chainsafeNoise,
  type NoiseComponents,
  type NoiseExtensions,
  type NoiseInit,
} from "@chainsafe/libp2p-noise";
import type { ConnectionEncrypter, SecuredConnection } from "@libp2p/interface";
import { type Uint8ArrayList, Uint8ArrayList as UintList } from "uint8arraylist";
import { noiseCrypto } from "./noise-crypto.js";

/**
 * Thrown to Noise's frame decoder when fewer than two bytes have arrived. The decoder takes any
 * `RangeError` to mean "wait for more data"; one shared instance spares building an error, with its
 * stack, each time a TCP read ends exactly at a frame boundary (most reads).
 */
const NEED_MORE = new RangeError("need two bytes for a noise frame length");

/** Noise's 2-byte big-endian frame length, as `@chainsafe/libp2p-noise` reads it, minus the error. */
export function noiseFrameLength(data: Uint8Array | Uint8ArrayList): number {
  if (data.byteLength < 2) throw NEED_MORE;
  return data instanceof Uint8Array ? (data[0]! << 8) | data[1]! : (data.get(0) << 8) | data.get(1);
}

type Bytes = Uint8Array | Uint8ArrayList;

/** The part of Noise's secured stream this module tunes (an implementation detail, checked). */
interface FramedStream {
  decoder?: { lengthDecoder?: (data: Bytes) => number };
  decrypt?: (chunk: Bytes) => Uint8ArrayList;
  handshake?: { decrypt(ciphertext: Bytes, dst?: Uint8Array): Bytes };
  metrics?: { decryptedPackets: { increment(): void }; decryptErrors: { increment(): void } };
}

/**
 * Whether a secured connection reads its frame lengths with {@link noiseFrameLength} and deciphers
 * with {@link decryptFrames}.
 */
export function usesFastFraming(secured: SecuredConnection<unknown>): boolean {
  const stream = secured.connection as FramedStream;
  return stream.decoder?.lengthDecoder === noiseFrameLength && stream.decrypt === decryptFrames;
}

/**
 * The secured stream's `decrypt`, without its join: Noise hands the cipher a destination for the
 * plaintext (`dst`, the ciphertext's own bytes, deciphered in place by the WebAssembly cipher),
 * taken with `subarray`, which copies a frame that arrived in several TCP reads (most of a 64 KB
 * frame) only for the native cipher to ignore it. Here a frame in pieces gets no destination.
 */
function decryptFrames(this: FramedStream, chunk: Bytes): Uint8ArrayList {
  const output = new UintList();
  for (let i = 0; i < chunk.byteLength; i += NOISE_MAX_MESSAGE) {
    const end = Math.min(i + NOISE_MAX_MESSAGE, chunk.byteLength);
    if (end - TAG < i) throw new Error("Invalid chunk");
    try {
      const plaintext =
        chunk instanceof Uint8Array
          ? this.handshake!.decrypt(chunk.subarray(i, end), chunk.subarray(i, end - TAG))
          : this.handshake!.decrypt(chunk.sublist(i, end));
      this.metrics?.decryptedPackets.increment();
      output.append(plaintext);
    } catch (err) {
      this.metrics?.decryptErrors.increment();
      throw err;
    }
  }
  return output;
}

const NOISE_MAX_MESSAGE = 65_535;
const TAG = 16;

function tune<T extends SecuredConnection<NoiseExtensions>>(secured: T): T {
  const stream = secured.connection as FramedStream;
  const decoder = stream.decoder;
  if (typeof decoder?.lengthDecoder === "function") decoder.lengthDecoder = noiseFrameLength;
  if (typeof stream.decrypt === "function" && typeof stream.handshake?.decrypt === "function") {
    stream.decrypt = decryptFrames;
  }
  return secured;
}

/**
 * `@chainsafe/libp2p-noise` with {@link noiseCrypto} (reusable cipher keys), a frame decoder that
 * does not build an error per TCP read, and {@link decryptFrames}. Same protocol and handshake;
 * interoperates with any Noise peer.
 */
export function noise(
  init: NoiseInit = {},
): (components: NoiseComponents) => ConnectionEncrypter<NoiseExtensions> {
  const create = chainsafeNoise({ crypto: noiseCrypto, ...init });
  return (components) => {
    const encrypter = create(components);
    const inbound = encrypter.secureInbound.bind(encrypter);
    const outbound = encrypter.secureOutbound.bind(encrypter);
    encrypter.secureInbound = async (connection, options) => tune(await inbound(connection, options));
    encrypter.secureOutbound = async (connection, options) => tune(await outbound(connection, options));
    return encrypter;
  };
}
