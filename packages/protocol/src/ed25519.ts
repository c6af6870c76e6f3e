import { ed25519 } from "@noble/curves/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { fromBareHex, toBareHex } from "./canonical.js";
import { BaseError } from "./errors.js";

/**
 * Ed25519 for device keys (message format v2): the verifier backends a reader chooses from, and
 * the device signing key. Every backend verifies PureEdDSA (RFC 8032 §5.1.7) over the raw bytes,
 * cofactorless (`[S]B = R + [k]A`, R compared as an encoding), and refuses `S ≥ L`; device keys
 * are checked before they reach one (`checkDeviceKey`).
 */

/** Verifies a 64-byte signature over `message` with one public key. */
export type Ed25519Verifier = (message: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>;

/** Imports a 32-byte public key once and returns its verifier. */
export type Ed25519VerifierFactory = (publicKey: Uint8Array) => Ed25519Verifier | Promise<Ed25519Verifier>;

/** Signs a message's signed bytes with a device key (PureEdDSA over the raw bytes, 64 bytes). */
export interface DeviceSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * A device key as it is stored. `webcrypto`: a non-extractable `CryptoKeyPair` (IndexedDB keeps it
 * by structured clone; the private key never leaves WebCrypto). `pkcs8`: the RFC 8410 PKCS #8
 * private key, hex (48 bytes: a fixed prefix and the 32-byte seed), for stores of plain data (a
 * Node client's SQLite). `publicKey` is the raw 32-byte key, hex.
 */
export type StoredDeviceKey =
  | { format: "webcrypto"; publicKey: string; keyPair: WebCryptoKeyPair }
  | { format: "pkcs8"; publicKey: string; pkcs8: string };

/** A WebCrypto key: DOM's `CryptoKey` or Node's `webcrypto.CryptoKey`. */
export interface WebCryptoKey {
  readonly type: string;
  readonly extractable: boolean;
}

export interface WebCryptoKeyPair {
  publicKey: WebCryptoKey;
  privateKey: WebCryptoKey;
}

type Bytes = Uint8Array<ArrayBuffer>;
type Ed25519Algorithm = { name: "Ed25519" };
type Usages = ("sign" | "verify")[];

/** The WebCrypto calls used here: DOM's `crypto.subtle` and Node's `webcrypto.subtle` both fit. */
export interface SubtleEd25519 {
  importKey(
    format: "raw" | "pkcs8",
    keyData: Bytes,
    algorithm: Ed25519Algorithm,
    extractable: boolean,
    keyUsages: Usages,
  ): Promise<WebCryptoKey>;
  exportKey(format: "raw" | "pkcs8", key: WebCryptoKey): Promise<ArrayBuffer>;
  generateKey(algorithm: Ed25519Algorithm, extractable: boolean, keyUsages: Usages): Promise<unknown>;
  sign(algorithm: Ed25519Algorithm, key: WebCryptoKey, data: Bytes): Promise<ArrayBuffer>;
  verify(algorithm: Ed25519Algorithm, key: WebCryptoKey, signature: Bytes, data: Bytes): Promise<boolean>;
}

/** `globalThis.crypto.subtle`, where there is one (secure contexts and Node). */
const platformSubtle = (): SubtleEd25519 | undefined =>
  (globalThis as { crypto?: { subtle?: SubtleEd25519 } }).crypto?.subtle;

/** A device signing key and its stored form. */
export interface DeviceKey extends DeviceSigner {
  readonly stored: StoredDeviceKey;
}

const ED25519: Ed25519Algorithm = { name: "Ed25519" };
const PKCS8_PREFIX = fromBareHex("302e020100300506032b657004220420");
const SEED_BYTES = 32;

function subtleOrThrow(subtle: SubtleEd25519 | undefined): SubtleEd25519 {
  if (!subtle) {
    throw new BaseError("WebCrypto is not available here.", {
      details: "crypto.subtle exists only in secure contexts: serve the page over https or from localhost",
    });
  }
  return subtle;
}

/** A view as WebCrypto's types want it (the bytes are not copied). */
const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

/**
 * WebCrypto (browsers: BoringSSL, NSS or CoreCrypto; Node: OpenSSL). `crypto.subtle.importKey("raw", key,
 * "Ed25519")` once per key, then `verify`. Chrome ≥ 137, Firefox ≥ 129, Safari ≥ 17, Node ≥ 20.
 */
export function webCryptoEd25519(
  subtle: SubtleEd25519 | undefined = platformSubtle(),
): Ed25519VerifierFactory {
  const s = subtleOrThrow(subtle);
  return async (publicKey) => {
    const key = await s.importKey("raw", buf(publicKey), ED25519, false, ["verify"]);
    return async (message, signature) => {
      if (signature.length !== 64) return false;
      try {
        return await s.verify(ED25519, key, buf(signature), buf(message));
      } catch {
        return false;
      }
    };
  };
}

/** The order of the Ed25519 group. */
export const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** A little-endian unsigned integer (Ed25519 scalars). */
export function readUint256LE(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

type EdPoint = InstanceType<typeof ed25519.ExtendedPoint>;
const Point = ed25519.ExtendedPoint;
/** Keys used this often get precomputed multiples (window 4, ≈ 100 KB each): ≈ 4× faster. */
const PRECOMPUTE_AFTER = 8;
/** Precomputed keys kept, least recently used dropped first. */
const PRECOMPUTED_KEYS = 256;
const precomputed = new Map<string, EdPoint>();

/**
 * Pure JavaScript (`@noble/curves` point arithmetic), for runtimes without WebCrypto Ed25519: the
 * cofactorless equation `[S]B = R + [k]A` that OpenSSL and BoringSSL check, with R and A decoded
 * strictly (RFC 8032: y < p, no x = 0 with the sign bit) and `S < L`. It accepts exactly what
 * noble's `verify(…, { zip215: false })` accepts when R is also torsion-free (noble's own equation
 * multiplies by the cofactor, which would let an R with a small-order component through), at about
 * the cost of noble's `verify`, and ≈ 4× less for a sender seen often.
 */
export const nobleEd25519: Ed25519VerifierFactory = (publicKey) => {
  const key = publicKey.slice();
  const hex = toBareHex(key);
  const point = Point.fromHex(key);
  let uses = 0;
  const pointA = (): EdPoint => {
    if (++uses < PRECOMPUTE_AFTER) return point;
    let p = precomputed.get(hex);
    if (p) precomputed.delete(hex);
    else p = ed25519.utils.precompute(4, Point.fromHex(key));
    precomputed.set(hex, p);
    if (precomputed.size > PRECOMPUTED_KEYS) precomputed.delete(precomputed.keys().next().value!);
    return p;
  };
  return (message, signature) => {
    if (signature.length !== 64) return false;
    const s = readUint256LE(signature.subarray(32));
    if (s >= ED25519_L) return false;
    let R: EdPoint;
    try {
      R = Point.fromHex(signature.subarray(0, 32));
    } catch {
      return false;
    }
    const h = new Uint8Array(64 + message.length);
    h.set(signature.subarray(0, 32));
    h.set(key, 32);
    h.set(message, 64);
    const k = readUint256LE(sha512(h)) % ED25519_L;
    return Point.BASE.multiplyUnsafe(s).equals(R.add(pointA().multiplyUnsafe(k)));
  };
};

/** The parts of `node:crypto` that {@link nodeCryptoEd25519} uses. */
export interface NodeEd25519Crypto<K> {
  createPublicKey(input: { key: { kty: "OKP"; crv: "Ed25519"; x: string }; format: "jwk" }): K;
  verify(algorithm: null, data: Uint8Array, key: NoInfer<K>, signature: Uint8Array): boolean;
}

/**
 * OpenSSL through `node:crypto`, synchronous, one `KeyObject` per key: the fastest backend in
 * Node. This package imports no `node:` module; the caller passes it:
 * `nodeCryptoEd25519(await import("node:crypto"))`.
 */
export function nodeCryptoEd25519<K>(nodeCrypto: NodeEd25519Crypto<K>): Ed25519VerifierFactory {
  return (publicKey) => {
    const x = btoa(String.fromCharCode(...publicKey))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "");
    const key = nodeCrypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    return (message, signature) => {
      if (signature.length !== 64) return false;
      try {
        return nodeCrypto.verify(null, message, key, signature);
      } catch {
        return false;
      }
    };
  };
}

export interface DeviceKeyOptions {
  /**
   * Keep the private key exportable and store it as PKCS #8 (a Node client's database). Default
   * false: a non-extractable `CryptoKeyPair`, for IndexedDB.
   */
  extractable?: boolean;
  /** Default `globalThis.crypto.subtle`. */
  subtle?: SubtleEd25519;
}

/**
 * A new Ed25519 device key from WebCrypto (Node 24 and current browsers). Where WebCrypto has no
 * Ed25519 (`NotSupportedError`: Chrome < 137, Safari < 17) the key is made and used by
 * `@noble/curves` instead and stored as PKCS #8, whatever `extractable` says.
 */
export async function generateDeviceKey(o: DeviceKeyOptions = {}): Promise<DeviceKey> {
  const subtle = subtleOrThrow(o.subtle ?? platformSubtle());
  const extractable = o.extractable ?? false;
  let pair: WebCryptoKeyPair;
  try {
    pair = (await subtle.generateKey(ED25519, extractable, ["sign", "verify"])) as WebCryptoKeyPair;
  } catch (err) {
    if (!notSupported(err)) throw err;
    return nobleDeviceKey(ed25519.utils.randomPrivateKey());
  }
  const publicKey = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  const stored: StoredDeviceKey = extractable
    ? {
        format: "pkcs8",
        publicKey: toBareHex(publicKey),
        pkcs8: toBareHex(new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey))),
      }
    : { format: "webcrypto", publicKey: toBareHex(publicKey), keyPair: pair };
  return webCryptoDeviceKey(subtle, pair.privateKey, publicKey, stored);
}

/** A stored device key, ready to sign. Throws `BaseError` for a malformed record. */
export async function loadDeviceKey(
  stored: StoredDeviceKey,
  o: { subtle?: SubtleEd25519 } = {},
): Promise<DeviceKey> {
  const format = (stored as { format?: unknown } | null | undefined)?.format;
  if (format !== "webcrypto" && format !== "pkcs8") {
    throw new BaseError("Cannot load the device key.", { details: "the stored record is not a device key" });
  }
  if (stored.format === "webcrypto") {
    const subtle = subtleOrThrow(o.subtle ?? platformSubtle());
    return webCryptoDeviceKey(subtle, stored.keyPair.privateKey, fromBareHex(stored.publicKey), stored);
  }
  let pkcs8: Uint8Array;
  try {
    pkcs8 = fromBareHex(stored.pkcs8);
  } catch {
    pkcs8 = new Uint8Array(0);
  }
  if (
    pkcs8.length !== PKCS8_PREFIX.length + SEED_BYTES ||
    toBareHex(pkcs8.subarray(0, 16)) !== toBareHex(PKCS8_PREFIX)
  ) {
    throw new BaseError("Cannot load the device key.", { details: "not an RFC 8410 Ed25519 PKCS #8 key" });
  }
  const key = await deviceKeyFromSeed(pkcs8.subarray(PKCS8_PREFIX.length), o);
  if (toBareHex(key.publicKey) !== stored.publicKey.toLowerCase()) {
    throw new BaseError("Cannot load the device key.", {
      details: "its public key does not match the record",
    });
  }
  return key;
}

/** The device key of a 32-byte seed (RFC 8032 private key), stored as PKCS #8: test vectors, imports. */
export async function deviceKeyFromSeed(
  seed: Uint8Array,
  o: { subtle?: SubtleEd25519 } = {},
): Promise<DeviceKey> {
  if (seed.length !== SEED_BYTES) throw new RangeError("an Ed25519 seed is 32 bytes");
  const pkcs8 = pkcs8Of(seed);
  const publicKey = ed25519.getPublicKey(seed);
  const stored: StoredDeviceKey = {
    format: "pkcs8",
    publicKey: toBareHex(publicKey),
    pkcs8: toBareHex(pkcs8),
  };
  const subtle = o.subtle ?? platformSubtle();
  if (subtle) {
    try {
      const privateKey = await subtle.importKey("pkcs8", buf(pkcs8), ED25519, false, ["sign"]);
      return webCryptoDeviceKey(subtle, privateKey, publicKey, stored);
    } catch (err) {
      if (!notSupported(err)) throw err;
    }
  }
  return nobleDeviceKey(seed);
}

function webCryptoDeviceKey(
  subtle: SubtleEd25519,
  privateKey: WebCryptoKey,
  publicKey: Uint8Array,
  stored: StoredDeviceKey,
): DeviceKey {
  return {
    publicKey,
    stored,
    sign: async (message) => new Uint8Array(await subtle.sign(ED25519, privateKey, buf(message))),
  };
}

function nobleDeviceKey(seed: Uint8Array): DeviceKey {
  const secret = seed.slice();
  const publicKey = ed25519.getPublicKey(secret);
  return {
    publicKey,
    stored: { format: "pkcs8", publicKey: toBareHex(publicKey), pkcs8: toBareHex(pkcs8Of(secret)) },
    sign: async (message) => ed25519.sign(message, secret),
  };
}

/** RFC 8410 PKCS #8 of an Ed25519 seed: a fixed 16-byte prefix and the seed. */
function pkcs8Of(seed: Uint8Array): Uint8Array {
  const out = new Uint8Array(PKCS8_PREFIX.length + SEED_BYTES);
  out.set(PKCS8_PREFIX);
  out.set(seed, PKCS8_PREFIX.length);
  return out;
}

function notSupported(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === "NotSupportedError";
}
