import { ed25519 } from "@noble/curves/ed25519";
import { describe, expect, it } from "vitest";
import { fromBareHex, toBareHex } from "./canonical.js";
import {
  CertificateCache,
  certificateCacheKey,
  certificateDigest,
  certificateNeedsRenewal,
  DEVICE_CERTIFICATE_LIFETIME_MS,
  deviceCertificateValidity,
  InvalidCertificateError,
  MAX_CERTIFICATE_VALIDITY_MS,
  signDeviceCertificate,
  verifyDeviceCertificate,
} from "./certificate.js";
import { createIdentity, nobleVerifier, type SignatureVerifier } from "./crypto.js";
import type { Ed25519VerifierFactory } from "./ed25519.js";

const now = 1_767_225_600_000n;
const alice = createIdentity();
const deviceKey = () => ed25519.getPublicKey(ed25519.utils.randomPrivateKey());
const validity = deviceCertificateValidity(now);

/** noble, counting its calls: how often the cache really verified. */
function counting(): SignatureVerifier & { calls: number } {
  const v = ((s, m, k) => {
    v.calls++;
    return nobleVerifier(s, m, k);
  }) as SignatureVerifier & { calls: number };
  v.calls = 0;
  return v;
}

function reasonOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof InvalidCertificateError) return err.reason;
    throw err;
  }
  return undefined;
}

describe("device certificates", () => {
  it("are signed low-s over the digest and verify", () => {
    const c = signDeviceCertificate(alice, deviceKey(), validity);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    expect(BigInt(`0x${toBareHex(c.signature.subarray(32))}`) <= n / 2n).toBe(true);
    const checked = verifyDeviceCertificate(alice.publicKey, c, nobleVerifier);
    expect(checked.digest).toEqual(certificateDigest(alice.publicKey, c));
  });

  it("are refused at signing when a reader would refuse them", () => {
    const key = deviceKey();
    expect(reasonOf(() => signDeviceCertificate(alice, fromBareHex(`01${"00".repeat(31)}`), validity))).toBe(
      "small-order device key",
    );
    expect(reasonOf(() => signDeviceCertificate(alice, key.subarray(1), validity))).toBe("device key length");
    expect(
      reasonOf(() =>
        signDeviceCertificate(alice, key, {
          notBefore: now,
          notAfter: now + MAX_CERTIFICATE_VALIDITY_MS + 1n,
        }),
      ),
    ).toBe("validity");
    expect(reasonOf(() => signDeviceCertificate(alice, key, { notBefore: now, notAfter: now }))).toBe(
      "validity",
    );
    const err = (() => {
      try {
        signDeviceCertificate(alice, key, { notBefore: now, notAfter: now });
      } catch (e) {
        return e as InvalidCertificateError;
      }
    })();
    expect(err?.name).toBe("InvalidCertificateError");
    expect(err?.shortMessage).toBe("Invalid device certificate: validity.");
  });

  it("are renewed when fewer than 30 days remain, or before they start", () => {
    const c = signDeviceCertificate(alice, deviceKey(), validity);
    expect(validity.notAfter - validity.notBefore).toBe(DEVICE_CERTIFICATE_LIFETIME_MS);
    expect(validity.notBefore < now).toBe(true);
    expect(certificateNeedsRenewal(c, now)).toBe(false);
    expect(certificateNeedsRenewal(c, c.notAfter - 30n * 86_400_000n + 1n)).toBe(true);
    expect(certificateNeedsRenewal(c, c.notBefore - 1n)).toBe(true);
  });
});

describe("CertificateCache", () => {
  it("verifies a certificate once, whatever number of messages carry it", () => {
    const cache = new CertificateCache();
    const verify = counting();
    const c = signDeviceCertificate(alice, deviceKey(), validity);
    for (let i = 0; i < 5; i++) {
      expect(cache.check(alice.publicKey, c, verify).digest).toEqual(certificateDigest(alice.publicKey, c));
    }
    expect(verify.calls).toBe(1);
    expect(cache.size).toBe(1);
    expect(cache.has(certificateCacheKey(alice.publicKey, c))).toBe(true);
  });

  it("remembers a forged certificate too, and refuses it the same way every time", () => {
    const cache = new CertificateCache();
    const verify = counting();
    const c = signDeviceCertificate(alice, deviceKey(), validity);
    const forged = { ...c, signature: c.signature.slice() };
    forged.signature[3]! ^= 1;
    for (let i = 0; i < 3; i++) {
      expect(reasonOf(() => cache.check(alice.publicKey, forged, verify))).toBe("signature");
    }
    expect(verify.calls).toBe(1);
  });

  it("never accepts a known body under a signature a fresh reader refuses", () => {
    const cache = new CertificateCache();
    const c = signDeviceCertificate(alice, deviceKey(), validity);
    cache.check(alice.publicKey, c, nobleVerifier);
    const broken = { ...c, signature: c.signature.slice() };
    broken.signature[40]! ^= 1;
    expect(reasonOf(() => cache.check(alice.publicKey, broken, nobleVerifier))).toBe("signature");
    expect(reasonOf(() => new CertificateCache().check(alice.publicKey, broken, nobleVerifier))).toBe(
      "signature",
    );
  });

  it("hands over what it checked to persist, and trusts what it is seeded with", () => {
    const first = new CertificateCache();
    const c = signDeviceCertificate(alice, deviceKey(), validity);
    first.check(alice.publicKey, c, nobleVerifier);
    first.check(alice.publicKey, c, nobleVerifier);
    const saved = first.takeNew();
    expect(saved).toEqual([
      {
        key: certificateCacheKey(alice.publicKey, c),
        digest: toBareHex(certificateDigest(alice.publicKey, c)),
        sender: toBareHex(alice.publicKey),
        deviceKey: toBareHex(c.deviceKey),
        notBefore: Number(c.notBefore),
        notAfter: Number(c.notAfter),
        signature: toBareHex(c.signature),
      },
    ]);
    expect(first.takeNew()).toEqual([]);

    for (const seed of [saved, saved.map((s) => s.key)]) {
      const next = new CertificateCache();
      next.seed(seed);
      const verify = counting();
      expect(next.check(alice.publicKey, c, verify).digest).toEqual(certificateDigest(alice.publicKey, c));
      expect(verify.calls).toBe(0);
      expect(next.takeNew()).toEqual([]);
    }
    expect(() => new CertificateCache().seed(["not hex"])).toThrow(RangeError);
  });

  it("keeps at most `limit` good and `negativeLimit` bad certificates, dropping the least recently used", () => {
    const cache = new CertificateCache({ limit: 2, negativeLimit: 1 });
    const verify = counting();
    const [a, b, c] = [0, 1, 2].map(() => signDeviceCertificate(alice, deviceKey(), validity));
    cache.check(alice.publicKey, a!, verify);
    cache.check(alice.publicKey, b!, verify);
    cache.check(alice.publicKey, a!, verify); // a is now the most recent
    cache.check(alice.publicKey, c!, verify); // drops b
    expect(verify.calls).toBe(3);
    cache.check(alice.publicKey, a!, verify);
    expect(verify.calls).toBe(3);
    cache.check(alice.publicKey, b!, verify);
    expect(verify.calls).toBe(4);
    expect(cache.size).toBe(2);

    const bad = (x: typeof a) => ({ ...x!, signature: new Uint8Array(64).fill(1) });
    reasonOf(() => cache.check(alice.publicKey, bad(a), verify));
    reasonOf(() => cache.check(alice.publicKey, bad(b), verify));
    reasonOf(() => cache.check(alice.publicKey, bad(a), verify));
    expect(verify.calls).toBe(7);
    expect(() => new CertificateCache({ limit: 0 })).toThrow(RangeError);
  });

  it("imports each device key once per backend, and again after a failed import", async () => {
    const cache = new CertificateCache();
    let imports = 0;
    let fail = true;
    const factory: Ed25519VerifierFactory = async () => {
      imports++;
      if (fail) throw new Error("no Ed25519 here");
      return () => true;
    };
    const key = deviceKey();
    await expect(cache.verifier(key, factory)).rejects.toThrow("no Ed25519 here");
    fail = false;
    const v = await cache.verifier(key, factory);
    expect(await cache.verifier(key, factory)).toBe(v);
    expect(imports).toBe(2);
    const other: Ed25519VerifierFactory = () => () => false;
    expect(await (await cache.verifier(key, other))(new Uint8Array(0), new Uint8Array(64))).toBe(false);
  });
});
