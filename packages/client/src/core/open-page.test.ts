// The page opener on real worker threads (the pool the Node platform gives), v1 and v2 messages.

import { Worker } from "node:worker_threads";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  ChatMessage,
  createGroupKey,
  createIdentity,
  type DeviceSender,
  deviceCertificateValidity,
  encryptRoom,
  generateDeviceKey,
  type Identity,
  roomKey,
  sealDirectV2,
  sealGroupV2,
  sealRoomV2,
  signDeviceCertificate,
  toBareHex,
} from "@postbox/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodePlatform } from "../platform/node/index.js";
import { native } from "../platform/node/secp256k1.js";
import { type OpenPageJob, type OpenPageResult, openPageHandler, packPage } from "./open-page.js";
import { type PoolWorker, WorkerError, type WorkerPool, workerPool } from "./pool.js";

const alice = createIdentity();
const bob = createIdentity();
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const now = BigInt(Date.now());
const ts = (i: number) => now + BigInt(i);

async function deviceOf(identity: Identity): Promise<DeviceSender> {
  const device = await generateDeviceKey({ extractable: true });
  return {
    identity,
    device,
    certificate: signDeviceCertificate(identity, device.publicKey, deviceCertificateValidity(now)),
  };
}

/** Bob's v1 room message re-sealed (validly) after `change` edits its signed plaintext. */
function tamperedV1(i: number, change: (m: ChatMessage) => void) {
  const e = { ...encryptRoom(bob, "#x", `hello ${i}`, ts(i)), timestamp: ts(i) };
  const key = roomKey("x");
  const nonce = e.payload.subarray(0, 24);
  const m = ChatMessage.decode(xchacha20poly1305(key, nonce).decrypt(e.payload.subarray(24)));
  change(m);
  const ct = xchacha20poly1305(key, nonce).encrypt(ChatMessage.encode(m));
  return { ...e, payload: new Uint8Array([...nonce, ...ct]) };
}

const texts = (r: OpenPageResult) => r.opened.map((m) => m?.text ?? null);

describe.each([...(native ? ["native" as const] : []), "wasm" as const])(
  "the page opener on worker threads (secp256k1 %s)",
  (secp256k1) => {
    const platform = nodePlatform({ secp256k1 });
    let pool: WorkerPool<OpenPageJob, OpenPageResult>;
    let bobDevice: DeviceSender;
    const run = (...args: Parameters<typeof packPage>) => {
      const { job, transfer } = packPage(...args);
      return pool.run(job, transfer);
    };
    beforeAll(async () => {
      pool = platform.openerPool(2);
      bobDevice = await deviceOf(bob);
    });
    afterAll(() => pool.close());

    it("reads version 1: refuses a mauled (high-s) signature, a flipped one, and another sender's key", async () => {
      const out = await run({ kind: "room", room: "x" }, [
        tamperedV1(0, () => undefined),
        tamperedV1(1, (m) => {
          const s = BigInt(`0x${toBareHex(m.signature.subarray(32))}`);
          m.signature.set(Buffer.from((N - s).toString(16).padStart(64, "0"), "hex"), 32);
        }),
        tamperedV1(2, (m) => {
          m.signature[5]! ^= 1;
        }),
        tamperedV1(3, (m) => {
          m.sender = createIdentity().publicKey;
        }),
      ]);
      expect(texts(out)).toEqual(["hello 0", null, null, null]);
      expect(out.opened[0]?.version).toBe(1);
    });

    it("opens a v2 room page in order, checks the sender's certificate once, and nulls forged and foreign envelopes", async () => {
      const envelopes = await Promise.all(
        Array.from({ length: 41 }, async (_, i) => ({
          ...(await sealRoomV2(bobDevice, "#x", { type: "text", text: `hello ${i}` }, ts(i))),
          timestamp: ts(i),
        })),
      );
      // A forged one (a flipped byte: the ciphertext no longer authenticates), and one of another room.
      envelopes[7]!.payload[envelopes[7]!.payload.length - 20]! ^= 1;
      envelopes[30] = {
        ...(await sealRoomV2(bobDevice, "#y", { type: "text", text: "elsewhere" }, ts(30))),
        timestamp: ts(30),
      };
      const out = await run({ kind: "room", room: "x" }, envelopes);
      expect(out.opened).toHaveLength(41);
      out.opened.forEach((m, i) => {
        if (i === 7 || i === 30) expect(m).toBeNull();
        else {
          expect(m?.text).toBe(`hello ${i}`);
          expect(m?.version).toBe(2);
          expect(m?.sender).toEqual(bob.publicKey);
          expect(toBareHex(m!.messageId)).toBe(toBareHex(envelopes[i]!.messageId));
        }
      });
      expect(out.newCertificates.map((c) => c.sender)).toEqual([toBareHex(bob.publicKey)]);
      // Known certificates are not checked (nor reported) again.
      const again = await run({ kind: "room", room: "x" }, envelopes.slice(0, 3), {
        knownCertificates: out.newCertificates.map((c) => c.key),
      });
      expect(texts(again)).toEqual(["hello 0", "hello 1", "hello 2"]);
      expect(again.newCertificates).toEqual([]);
    });

    it("opens the inbox with the reader's identity key, and a group with its key only", async () => {
      const direct = {
        ...(await sealDirectV2(bobDevice, alice.publicKey, { type: "text", text: "just us" }, ts(1))),
        timestamp: ts(1),
      };
      expect(texts(await run({ kind: "inbox" }, [direct], { identityKey: alice.privateKey }))).toEqual([
        "just us",
      ]);
      expect(
        texts(await run({ kind: "inbox" }, [direct], { identityKey: createIdentity().privateKey })),
      ).toEqual([null]);
      const key = createGroupKey();
      const group = {
        ...(await sealGroupV2(bobDevice, "g1", key, { type: "text", text: "team" }, ts(2))),
        timestamp: ts(2),
      };
      expect(texts(await run({ kind: "group", groupId: "g1", groupKey: key }, [group]))).toEqual(["team"]);
      expect(texts(await run({ kind: "group", groupId: "g1", groupKey: createGroupKey() }, [group]))).toEqual(
        [null],
      );
    });

    it("moves each page's payloads to the worker in one buffer (the caller's copy is detached)", async () => {
      const e = {
        ...(await sealRoomV2(bobDevice, "#x", { type: "text", text: "moved" }, ts(5))),
        timestamp: ts(5),
      };
      const { job, transfer } = packPage({ kind: "room", room: "x" }, [e]);
      const out = await pool.run(job, transfer);
      expect(texts(out)).toEqual(["moved"]);
      expect(job.buffer.byteLength).toBe(0);
      expect(e.payload.byteLength).toBeGreaterThan(0); // the envelope itself is untouched
    });
  },
);

describe("a worker that fails", () => {
  /** A real worker thread on a module that does not exist: it fails as it loads. */
  const broken = (): PoolWorker => {
    const worker = new Worker(new URL("file:///nonexistent/open-page.worker.js"));
    return {
      post: (m, t) => worker.postMessage(m, t),
      listen(onMessage, onError) {
        worker.on("message", onMessage);
        worker.on("error", onError);
      },
      terminate: async () => {
        await worker.terminate();
      },
    };
  };
  const job = async () => {
    const device = await deviceOf(bob);
    const e = { ...(await sealRoomV2(device, "#x", { type: "text", text: "hi" }, ts(9))), timestamp: ts(9) };
    return packPage({ kind: "room", room: "x" }, [e]);
  };

  it("fails its jobs, and every later one, with a typed error", async () => {
    const pool = workerPool<OpenPageJob, OpenPageResult>({ size: 1, spawn: broken });
    const { job: j } = await job();
    await expect(pool.run(j)).rejects.toThrow(WorkerError);
    await expect(pool.run((await job()).job)).rejects.toThrow(/a worker failed/);
    await pool.close();
  });

  it("leaves its jobs to the calling thread when there is a fallback (a page whose bundler did not ship the worker)", async () => {
    const pool = workerPool<OpenPageJob, OpenPageResult>({
      size: 1,
      spawn: broken,
      fallback: openPageHandler(nodePlatform().crypto),
    });
    const first = await job();
    expect(texts(await pool.run(first.job))).toEqual(["hi"]);
    expect(texts(await pool.run((await job()).job))).toEqual(["hi"]);
    await pool.close();
  });
});
