import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  ChatMessage,
  createGroupKey,
  createIdentity,
  encryptDirect,
  encryptGroup,
  encryptRoom,
  groupTopic,
  roomKey,
  roomTopic,
} from "@postbox/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { native } from "../native-secp256k1.js";
import { PageOpener } from "./opener.js";

const alice = createIdentity();
const bob = createIdentity();
const ts = (i: number) => 1_700_000_000_000n + BigInt(i);
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Bob's room message re-sealed (validly) after `change` edits its signed plaintext. */
function tampered(i: number, change: (m: ChatMessage) => void) {
  const e = { ...encryptRoom(bob, "#x", `hello ${i}`, ts(i)), timestamp: ts(i) };
  const key = roomKey("x");
  const nonce = e.payload.subarray(0, 24);
  const m = ChatMessage.decode(xchacha20poly1305(key, nonce).decrypt(e.payload.subarray(24)));
  change(m);
  const ct = xchacha20poly1305(key, nonce).encrypt(ChatMessage.encode(m));
  return { ...e, payload: new Uint8Array([...nonce, ...ct]) };
}

describe.each([...(native ? ["native" as const] : []), "wasm" as const])(
  "PageOpener (worker threads, %s)",
  (backend) => {
    const opener = new PageOpener({ identityKey: alice.privateKey, workers: 2, backend });
    afterAll(() => opener.close());

    it("refuses a mauled (high-s) signature, a flipped one, and another sender's key", async () => {
      const envelopes = [
        tampered(0, () => undefined),
        tampered(1, (m) => {
          const s = BigInt(`0x${Buffer.from(m.signature.subarray(32)).toString("hex")}`);
          m.signature.set(Buffer.from((N - s).toString(16).padStart(64, "0"), "hex"), 32);
        }),
        tampered(2, (m) => {
          m.signature[5]! ^= 1;
        }),
        tampered(3, (m) => {
          m.sender = createIdentity().publicKey;
        }),
      ];
      const out = await opener.open({ feed: "room:x", topic: roomTopic("x") }, envelopes);
      expect(out.map((m) => m?.text ?? null)).toEqual(["hello 0", null, null, null]);
    });

    it("opens a room's page in order across the workers; forged and foreign envelopes are null", async () => {
      const envelopes = Array.from({ length: 41 }, (_, i) => ({
        ...encryptRoom(bob, "#x", `hello ${i}`, ts(i)),
        timestamp: ts(i),
      }));
      // A forged one: Bob's ciphertext with a flipped byte (the signature no longer verifies or
      // the ciphertext no longer authenticates), and one from another room.
      envelopes[7]!.payload[envelopes[7]!.payload.length - 20]! ^= 1;
      envelopes[30] = { ...encryptRoom(bob, "#y", "elsewhere", ts(30)), timestamp: ts(30) };
      const out = await opener.open({ feed: "room:x", topic: roomTopic("x") }, envelopes);
      expect(out).toHaveLength(41);
      out.forEach((m, i) => {
        if (i === 7 || i === 30) expect(m).toBeNull();
        else {
          expect(m?.text).toBe(`hello ${i}`);
          expect(m?.sender).toEqual(bob.publicKey);
        }
      });
    });

    it("opens the inbox with the identity's key, and a group with its key", async () => {
      const direct = { ...encryptDirect(bob, alice.publicKey, "just us", ts(1)), timestamp: ts(1) };
      const [dm] = await opener.open({ feed: "inbox", topic: direct.contentTopic }, [direct]);
      expect(dm?.text).toBe("just us");
      const key = createGroupKey();
      const group = { ...encryptGroup(bob, "g1", key, "team", ts(2)), timestamp: ts(2) };
      const keys = { feed: "group:g1", topic: groupTopic("g1") };
      expect((await opener.open({ ...keys, groupKey: key }, [group]))[0]?.text).toBe("team");
      expect((await opener.open({ ...keys, groupKey: createGroupKey() }, [group]))[0]).toBeNull();
    });
  },
);
