import {
  noise as chainsafeNoise,
  type NoiseComponents,
  type NoiseExtensions,
  type NoiseInit,
} from "@chainsafe/libp2p-noise";
import type { ConnectionEncrypter, SecuredConnection } from "@libp2p/interface";
import type { Uint8ArrayList } from "uint8arraylist";
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

/** The part of Noise's secured stream this module tunes (an implementation detail, checked). */
interface FramedStream {
  decoder?: { lengthDecoder?: (data: Uint8Array | Uint8ArrayList) => number };
}

/** Whether a secured connection reads its frame lengths with {@link noiseFrameLength}. */
export function usesFastFraming(secured: SecuredConnection<unknown>): boolean {
  return (secured.connection as FramedStream).decoder?.lengthDecoder === noiseFrameLength;
}

function tune<T extends SecuredConnection<NoiseExtensions>>(secured: T): T {
  const decoder = (secured.connection as FramedStream).decoder;
  if (typeof decoder?.lengthDecoder === "function") decoder.lengthDecoder = noiseFrameLength;
  return secured;
}

/**
 * `@chainsafe/libp2p-noise` with {@link noiseCrypto} (reusable cipher keys, one buffer per message)
 * and a frame decoder that does not build an error per TCP read. Same protocol and handshake;
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
