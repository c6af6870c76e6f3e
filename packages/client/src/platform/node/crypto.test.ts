import { sha256 } from "@noble/hashes/sha2.js";
import * as secp from "@noble/secp256k1";
import { createIdentity, nobleVerifier } from "@postbox/protocol";
import { describe, expect, it } from "vitest";
import { native } from "../native-secp256k1.js";
import { createNativeVerifier } from "./verify.js";

const N = secp.Point.CURVE().n;

describe("createNativeVerifier (libsecp256k1)", () => {
  it.each([...(native ? ["native" as const] : []), "wasm" as const])(
    "agrees with noble on valid, mutated, high-s and foreign signatures (%s)",
    (backend) => {
      const verify = createNativeVerifier(backend);
      const me = createIdentity();
      const other = createIdentity();
      let checked = 0;
      for (let i = 0; i < 40; i++) {
        const message = crypto.getRandomValues(new Uint8Array(20 + i));
        const good = secp.sign(sha256(message), me.privateKey, { prehash: false });
        const flipped = good.slice();
        flipped[i % 64]! ^= 1 << (i % 8);
        const s = BigInt(`0x${Buffer.from(good.subarray(32)).toString("hex")}`);
        const highS = good.slice();
        highS.set(Buffer.from((N - s).toString(16).padStart(64, "0"), "hex"), 32);
        const cases: [Uint8Array, Uint8Array][] = [
          [good, me.publicKey],
          [flipped, me.publicKey],
          [highS, me.publicKey],
          [good, other.publicKey],
          [good.subarray(0, 63), me.publicKey],
          [good, new Uint8Array(33).fill(7)],
        ];
        for (const [sig, key] of cases) {
          let expected: boolean;
          try {
            expected = nobleVerifier(sig, message, key);
          } catch {
            expected = false;
          }
          expect(verify(sig, message, key)).toBe(expected);
          checked++;
        }
        expect(verify(good, message, me.publicKey)).toBe(true);
        expect(verify(highS, message, me.publicKey)).toBe(false);
      }
      expect(checked).toBe(240);
    },
  );
});
