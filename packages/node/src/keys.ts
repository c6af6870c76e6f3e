import { createPrivateKey, sign } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { BaseError } from "./errors.js";

export const PEER_KEY_FILE = "peer.key";

/**
 * The mailbox's libp2p identity, kept in the data folder (protobuf-encoded, mode 0600) so that
 * its peer id — which the registry lists — survives restarts. Created on first start.
 */
export async function loadOrCreatePeerKey(dataDir: string): Promise<{ key: PrivateKey; created: boolean }> {
  const path = join(dataDir, PEER_KEY_FILE);
  if (existsSync(path)) {
    try {
      return { key: privateKeyFromProtobuf(readFileSync(path)), created: false };
    } catch (cause) {
      throw new BaseError(`cannot read the peer key at ${path}`, {
        cause,
        details: "the file is corrupt; restore it from a backup",
      });
    }
  }
  mkdirSync(dataDir, { recursive: true });
  const key = await generateKeyPair("Ed25519");
  writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return { key, created: true };
}

/**
 * Signs with the mailbox's key on hot paths (a commitment per page, a receipt per push). For an
 * Ed25519 key the OpenSSL key object is built once: libp2p's `sign` imports the key again on every
 * call, which measured as a fifth of the store handler's own time. Other key types use `sign`.
 */
export function createSigner(key: PrivateKey): (data: Uint8Array) => Promise<Uint8Array> {
  if (key.type !== "Ed25519") return async (data) => key.sign(data);
  const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");
  const object = createPrivateKey({
    key: { kty: "OKP", crv: "Ed25519", d: b64url(key.raw.subarray(0, 32)), x: b64url(key.publicKey.raw) },
    format: "jwk",
  });
  return async (data) => new Uint8Array(sign(null, data, object));
}

export const EVIDENCE_KEY_FILE = "evidence.key";

/**
 * The mailbox's evidence key: the secp256k1 key that signs its EIP-712 receipts and page
 * commitments, which its operator names in the registry (`setEvidenceSigner`). `configured` (the
 * `evidenceKey` setting, 0x + 64 hex) wins; otherwise it is kept in the data folder as
 * `evidence.key` (0x + 64 hex, mode 0600), created on first use like the peer key.
 */
export function loadOrCreateEvidenceKey(
  dataDir: string,
  configured?: string,
): { key: Hex; address: Address; created: boolean; path?: string } {
  if (configured)
    return { key: configured as Hex, address: privateKeyToAddress(configured as Hex), created: false };
  const path = join(dataDir, EVIDENCE_KEY_FILE);
  if (existsSync(path)) {
    const text = readFileSync(path, "utf8").trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(text))
      throw new BaseError(`cannot read the evidence key at ${path}`, {
        details: "the file does not hold a 0x-prefixed 32-byte hex key; restore it from a backup",
      });
    return { key: text as Hex, address: privateKeyToAddress(text as Hex), created: false, path };
  }
  mkdirSync(dataDir, { recursive: true });
  const key = generatePrivateKey();
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return { key, address: privateKeyToAddress(key), created: true, path };
}
