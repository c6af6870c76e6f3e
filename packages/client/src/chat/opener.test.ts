import {
  createGroupKey,
  createIdentity,
  encryptDirect,
  encryptGroup,
  encryptRoom,
  groupTopic,
  roomTopic,
} from "@postbox/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { PageOpener } from "./opener.js";

const alice = createIdentity();
const bob = createIdentity();
const opener = new PageOpener({ identityKey: alice.privateKey, workers: 2 });
afterAll(() => opener.close());
const ts = (i: number) => 1_700_000_000_000n + BigInt(i);

describe("PageOpener (worker threads)", () => {
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
});
