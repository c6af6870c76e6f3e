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
