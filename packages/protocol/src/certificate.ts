import { ed25519 } from "@noble/curves/ed25519";
import { sha256 } from "@noble/hashes/sha2.js";
import { canonical, fromBareHex, toBareHex } from "./canonical.js";
import type { Identity, SignatureVerifier } from "./crypto.js";
import type { Ed25519Verifier, Ed25519VerifierFactory } from "./ed25519.js";
import { BaseError } from "./errors.js";
import type { DeviceCertificate } from "./pb/messages.js";
import { readUint256, SECP256K1_N, secp } from "./secp.js";

/**
 * Device certificates (message format v2, docs/protocol.md "Message format v2"): an identity's
 * secp256k1 signature that lets an Ed25519 device key sign its messages from `notBefore` to
 * `notAfter` (ms since the Unix epoch, both inclusive). Every v2 message carries its
 * certificate; a reader checks each one once and caches the result ({@link CertificateCache}).
 */
export type WireCertificate = DeviceCertificate;

export const DEVICE_CERTIFICATE_DOMAIN = "postbox/device-cert/1";

const DAY_MS = 86_400_000n;
/** The longest validity a reader accepts: `notAfter − notBefore ≤ 400 days`. */
export const MAX_CERTIFICATE_VALIDITY_MS = 400n * DAY_MS;
/** What a sender certifies for. */
export const DEVICE_CERTIFICATE_LIFETIME_MS = 90n * DAY_MS;
/** A sender renews its certificate when less than this remains. */
export const DEVICE_CERTIFICATE_RENEW_MS = 30n * DAY_MS;
/** A new certificate starts this much before "now", for a clock that steps back a little. */
const BACKDATE_MS = 10n * 60_000n;

const IDENTITY_KEY_BYTES = 33;
const DEVICE_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** A certificate that passed every check: what a reader keeps of it. */
export interface CheckedCertificate {
  /** The identity key (33-byte compressed secp256k1): the sender of the message that carried it. */
  sender: Uint8Array;
  deviceKey: Uint8Array;
  notBefore: bigint;
  notAfter: bigint;
  /** The identity's signature (64 bytes, low-s). */
  signature: Uint8Array;
  /** SHA-256 of {@link certificateBody}: what the identity signed, and what messages sign. */
  digest: Uint8Array;
}

/** A checked certificate as storage keeps it (hex strings; times in ms as numbers). */
export interface CachedCertificate {
  /** {@link certificateCacheKey}: what the cache and a store key it by. */
  key: string;
  digest: string;
  sender: string;
  deviceKey: string;
  notBefore: number;
  notAfter: number;
  signature: string;
}

export type InvalidCertificateReason =
  | "missing"
  | "identity key"
  | "device key length"
  | "device key encoding"
  | "small-order device key"
  | "mixed-order device key"
  | "validity"
  | "signature length"
  | "signature range"
  | "high-s signature"
  | "signature";

/** A device certificate broke a rule of docs/protocol.md; `reason` says which. */
export class InvalidCertificateError extends BaseError {
  override name = "InvalidCertificateError" as const;
  readonly reason: InvalidCertificateReason;

  constructor(reason: InvalidCertificateReason, details?: string) {
    super(`Invalid device certificate: ${reason}.`, details === undefined ? {} : { details });
    this.reason = reason;
  }
}

type CertificateFields = Pick<WireCertificate, "deviceKey" | "notBefore" | "notAfter">;

/** `canonical("postbox/device-cert/1", identityKey, deviceKey, notBefore, notAfter)`. */
export function certificateBody(sender: Uint8Array, c: CertificateFields): Uint8Array {
  return canonical(DEVICE_CERTIFICATE_DOMAIN, sender, c.deviceKey, c.notBefore, c.notAfter);
}

/** SHA-256 of the certificate body: the identity signs it, and v2 messages sign it too. */
export function certificateDigest(sender: Uint8Array, c: CertificateFields): Uint8Array {
  return sha256(certificateBody(sender, c));
}

/**
 * Certifies `deviceKey` (32-byte Ed25519 public key) for `identity`: secp256k1 ECDSA (RFC 6979,
 * low-s) over the certificate digest itself. Refuses what a reader would refuse
 * ({@link InvalidCertificateError}).
 */
export function signDeviceCertificate(
  identity: Identity,
  deviceKey: Uint8Array,
  v: { notBefore: bigint; notAfter: bigint },
): WireCertificate {
  const fields = { deviceKey: deviceKey.slice(), notBefore: v.notBefore, notAfter: v.notAfter };
  checkBody(identity.publicKey, fields);
  const signature = secp.sign(certificateDigest(identity.publicKey, fields), identity.privateKey, {
    prehash: false,
  });
  return { ...fields, signature };
}

/** The validity a sender gives a new certificate at `now` (ms): 90 days, from 10 minutes ago. */
export function deviceCertificateValidity(now: bigint): { notBefore: bigint; notAfter: bigint } {
  const notBefore = now > BACKDATE_MS ? now - BACKDATE_MS : 0n;
  return { notBefore, notAfter: notBefore + DEVICE_CERTIFICATE_LIFETIME_MS };
}

/** True when a sender should certify its device again: less than 30 days left, or not yet valid. */
export function certificateNeedsRenewal(c: CertificateFields, now: bigint): boolean {
  return now < c.notBefore || c.notAfter - now < DEVICE_CERTIFICATE_RENEW_MS;
}

/**
 * Checks an Ed25519 public key as a device key: 32 bytes, a canonical encoding of a curve point
 * (y < p, no "negative zero"), not of small order, and in the prime-order subgroup. Backends
 * disagree on keys that break these, so such keys never reach one.
 */
export function checkDeviceKey(key: Uint8Array): void {
  if (key.length !== DEVICE_KEY_BYTES) throw new InvalidCertificateError("device key length");
  let point: InstanceType<typeof ed25519.ExtendedPoint>;
  try {
    point = ed25519.ExtendedPoint.fromHex(key); // strict RFC 8032 decoding (zip215: false)
  } catch {
    throw new InvalidCertificateError("device key encoding");
  }
  if (point.isSmallOrder()) throw new InvalidCertificateError("small-order device key");
  if (!point.isTorsionFree()) throw new InvalidCertificateError("mixed-order device key");
}

function checkBody(sender: Uint8Array, c: CertificateFields): void {
  if (sender.length !== IDENTITY_KEY_BYTES) throw new InvalidCertificateError("identity key");
  try {
    secp.Point.fromBytes(sender);
  } catch {
    throw new InvalidCertificateError("identity key");
  }
  checkDeviceKey(c.deviceKey);
  if (!(c.notBefore < c.notAfter && c.notAfter - c.notBefore <= MAX_CERTIFICATE_VALIDITY_MS)) {
    throw new InvalidCertificateError(
      "validity",
      `notBefore ${c.notBefore} and notAfter ${c.notAfter} must be increasing and at most 400 days apart`,
    );
  }
}

/**
 * Checks a certificate fully, without a cache: every rule of docs/protocol.md. `secp256k1`
 * verifies a compact signature over SHA-256 of the bytes it is given (here the body, so over
 * the digest). Throws {@link InvalidCertificateError}.
 */
export function verifyDeviceCertificate(
  sender: Uint8Array,
  c: WireCertificate | undefined,
  secp256k1: SignatureVerifier,
): CheckedCertificate {
  if (!c) throw new InvalidCertificateError("missing");
  checkBody(sender, c);
  if (c.signature.length !== SIGNATURE_BYTES) throw new InvalidCertificateError("signature length");
  const r = readUint256(c.signature.subarray(0, 32));
  const s = readUint256(c.signature.subarray(32));
  if (r === 0n || r >= SECP256K1_N || s === 0n || s >= SECP256K1_N) {
    throw new InvalidCertificateError("signature range");
  }
  if (s > SECP256K1_N >> 1n) throw new InvalidCertificateError("high-s signature");
  const body = certificateBody(sender, c);
  let ok = false;
  try {
    ok = secp256k1(c.signature, body, sender);
  } catch {
    ok = false;
  }
  if (!ok) throw new InvalidCertificateError("signature");
  return {
    sender,
    deviceKey: c.deviceKey,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    signature: c.signature,
    digest: sha256(body),
  };
}

export interface CertificateCacheOptions {
  /** Certificates remembered as good, least recently used dropped first. 10,000. */
  limit?: number;
  /** Certificates remembered as bad. 1,000. */
  negativeLimit?: number;
}

/**
 * The key a reader caches a certificate's verdict under: SHA-256(certBody ‖ signature), hex. Not
 * the digest alone: a reader that accepted a body once would then accept it under a broken
 * signature that a fresh reader refuses, and two readers would disagree about one envelope.
 */
export function certificateCacheKey(sender: Uint8Array, c: WireCertificate): string {
  return cacheKey(certificateBody(sender, c), c.signature);
}

function cacheKey(body: Uint8Array, signature: Uint8Array): string {
  const bytes = new Uint8Array(body.length + signature.length);
  bytes.set(body);
  bytes.set(signature, body.length);
  return fastHex(sha256(bytes));
}

const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Hex for map keys on the per-message path: several times faster than `toBareHex`. */
function fastHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX_BYTES[b[i]!];
  return s;
}

const HEX_KEY = /^[0-9a-f]{64}$/;

/**
 * Checks each certificate once. A verdict is remembered by {@link certificateCacheKey}, good or
 * bad: honest senders put the same certificate bytes in every message, so a catch-up verifies one
 * secp256k1 signature per sender device, and a flood of one forged certificate costs one check.
 * The cache also keeps each device's imported verify key (a `KeyObject` or `CryptoKey` inside the
 * verifier), so a backend imports a key once.
 */
export class CertificateCache {
  readonly #limit: number;
  readonly #negativeLimit: number;
  /** Good certificates: the digest, or undefined for a seeded key (computed when met). */
  readonly #good = new Map<string, Uint8Array | undefined>();
  readonly #bad = new Map<string, InvalidCertificateError>();
  readonly #verifiers = new Map<
    string,
    { factory: Ed25519VerifierFactory; verifier: Promise<Ed25519Verifier> }
  >();
  #fresh: CachedCertificate[] = [];

  constructor(o: CertificateCacheOptions = {}) {
    this.#limit = positive(o.limit ?? 10_000, "limit");
    this.#negativeLimit = positive(o.negativeLimit ?? 1_000, "negativeLimit");
  }

  /** How many good certificates are remembered. */
  get size(): number {
    return this.#good.size;
  }

  /**
   * Checks the certificate `c` of a message from `sender`, or finds its verdict. Throws
   * {@link InvalidCertificateError}.
   */
  check(
    sender: Uint8Array,
    c: WireCertificate | undefined,
    secp256k1: SignatureVerifier,
  ): CheckedCertificate {
    if (!c) throw new InvalidCertificateError("missing");
    const body = certificateBody(sender, c);
    const key = cacheKey(body, c.signature);
    if (this.#good.has(key)) {
      let digest = this.#good.get(key);
      if (!digest) digest = sha256(body);
      remember(this.#good, key, digest, this.#limit);
      const { deviceKey, notBefore, notAfter, signature } = c;
      return { sender, deviceKey, notBefore, notAfter, signature, digest };
    }
    const known = this.#bad.get(key);
    if (known) throw new InvalidCertificateError(known.reason, known.details);
    let checked: CheckedCertificate;
    try {
      checked = verifyDeviceCertificate(sender, c, secp256k1);
    } catch (err) {
      if (err instanceof InvalidCertificateError) remember(this.#bad, key, err, this.#negativeLimit);
      throw err;
    }
    remember(this.#good, key, checked.digest, this.#limit);
    this.#fresh.push(toCached(checked, key));
    return checked;
  }

  /** Whether a certificate ({@link certificateCacheKey}) is known good. */
  has(key: string): boolean {
    return this.#good.has(key.toLowerCase());
  }

  /**
   * Marks certificates as good without checking them again: records a reader persisted, or their
   * keys ({@link certificateCacheKey}). Seeded entries are not returned by {@link takeNew}.
   */
  seed(known: readonly (CachedCertificate | string)[]): void {
    for (const k of known) {
      const key = (typeof k === "string" ? k : k.key).toLowerCase();
      if (!HEX_KEY.test(key)) throw new RangeError(`not a certificate cache key: ${key.slice(0, 80)}`);
      if (!this.#good.get(key)) {
        remember(this.#good, key, typeof k === "string" ? undefined : fromBareHex(k.digest), this.#limit);
      }
    }
  }

  /** The certificates checked since the last call (to persist them), oldest first. */
  takeNew(): CachedCertificate[] {
    const fresh = this.#fresh;
    this.#fresh = [];
    return fresh;
  }

  /**
   * The verifier of a device key from `factory`, imported once per key (and again only when
   * another factory asks). A failed import is not remembered.
   */
  verifier(deviceKey: Uint8Array, factory: Ed25519VerifierFactory): Promise<Ed25519Verifier> {
    const key = fastHex(deviceKey);
    const hit = this.#verifiers.get(key);
    if (hit && hit.factory === factory) {
      remember(this.#verifiers, key, hit, this.#limit);
      return hit.verifier;
    }
    const verifier = (async () => factory(deviceKey))();
    verifier.catch(() => {
      if (this.#verifiers.get(key)?.verifier === verifier) this.#verifiers.delete(key);
    });
    remember(this.#verifiers, key, { factory, verifier }, this.#limit);
    return verifier;
  }
}

function toCached(c: CheckedCertificate, key: string): CachedCertificate {
  return {
    key,
    digest: toBareHex(c.digest),
    sender: toBareHex(c.sender),
    deviceKey: toBareHex(c.deviceKey),
    notBefore: Number(c.notBefore),
    notAfter: Number(c.notAfter),
    signature: toBareHex(c.signature),
  };
}

function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > limit) map.delete(map.keys().next().value!);
}

function positive(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer`);
  return n;
}
