import { generateKeyPair } from "@libp2p/crypto/keys";
import { describe, expect, it } from "vitest";
import { createSigner } from "./keys.js";

describe("createSigner", () => {
  it("gives the signatures libp2p's own sign gives, which its public key verifies", async () => {
    const key = await generateKeyPair("Ed25519");
    const sign = createSigner(key);
    for (let i = 0; i < 20; i++) {
      const data = crypto.getRandomValues(new Uint8Array(1 + i * 37));
      const fast = await sign(data);
      expect(fast).toEqual(new Uint8Array(await key.sign(data))); // Ed25519 is deterministic
      expect(await key.publicKey.verify(data, fast)).toBe(true);
      data[0]! ^= 1;
      expect(await key.publicKey.verify(data, fast)).toBe(false);
    }
  });

  it("falls back to the key's own sign for other key types", async () => {
    const key = await generateKeyPair("secp256k1");
    const data = new Uint8Array([1, 2, 3]);
    expect(await key.publicKey.verify(data, await createSigner(key)(data))).toBe(true);
  });
});
