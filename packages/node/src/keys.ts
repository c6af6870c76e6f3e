import { createPrivateKey, sign } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
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
