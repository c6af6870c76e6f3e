// /postbox/push/1 over in-memory stream pairs against a real SQLite archive.
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { lpStream, pbStream, RateLimiter, streamPair } from "@libp2p/utils";
import {
  checkReceiptEvidence,
  createEnvelope,
  type Envelope,
  PushRequest,
  PushResponse,
  receiptFromWire,
  receiptSigningBytes,
  StatusCode,
  verifyPeerSignature,
} from "@postbox/protocol";
import { pino } from "pino";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { SqliteArchive } from "../../archive/sqlite.js";
import { EvidenceSigner } from "../../evidence.js";
import { Ingestor } from "../../ingest.js";
import { createMetrics } from "../../metrics.js";
import { MailboxPush } from "./push.js";

const evidenceKey = generatePrivateKey();
const operator = privateKeyToAccount(generatePrivateKey()).address;
const domain = { chainId: 31337, verifyingContract: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" as const };

async function setup(withEvidence = false) {
  const archive = new SqliteArchive({ path: ":memory:" });
  const metrics = createMetrics({ defaultMetrics: false });
  const log = pino({ level: "silent" });
  const key = await generateKeyPair("Ed25519");
  const relayed: Envelope[] = [];
  const push = new MailboxPush(
    { registrar: undefined as never },
    {
      ingestor: new Ingestor({ archive, metrics, log }),
      relay: async (e) => {
        relayed.push(e);
      },
      privateKey: key,
      ...(withEvidence
        ? { evidence: new EvidenceSigner({ privateKey: evidenceKey, operator, domain }) }
        : {}),
      retentionSeconds: 3_600,
      metrics,
      log,
      rateLimiter: new RateLimiter({ points: 100, duration: 1 }),
      readTimeoutMs: 2_000,
    },
  );
  const remote = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
  const send = async (write: (s: Awaited<ReturnType<typeof streamPair>>[0]) => Promise<void>) => {
    const [out, inb] = await streamPair();
    const handled = push.handle(inb, { remotePeer: remote });
    await write(out);
    const res = await pbStream(out).read(PushResponse);
    await handled;
    return res;
  };
  return { archive, key, relayed, send };
}

describe("/postbox/push/1 handler", () => {
  it("commits, then signs a receipt, then relays", async () => {
    const { archive, key, relayed, send } = await setup();
    const e = createEnvelope({ contentTopic: "/t/p", payload: new Uint8Array([1, 2]) });
    const res = await send((s) => pbStream(s).write({ requestId: "p1", envelope: e }, PushRequest));
    expect(res.status).toBe(StatusCode.OK);
    expect(res.requestId).toBe("p1");
    expect(await archive.presence([e.id])).toHaveLength(1);
    await verifyPeerSignature(key.publicKey, receiptSigningBytes(res.receipt!), res.receipt!.signature);
    // Kept from the earlier of its timestamp and its commit (retention deletes by timestamp).
    let from = res.receipt!.storedAt;
    if (e.timestamp < from) from = e.timestamp;
    expect(res.receipt!.retainUntil - from).toBe(3_600_000n);
    expect(res.receipt!.evidence).toBeUndefined(); // no chain, no EIP-712 evidence
    expect(relayed).toHaveLength(1);
    // A duplicate gets a receipt but is not relayed again.
    const again = await send((s) => pbStream(s).write({ requestId: "p2", envelope: e }, PushRequest));
    expect(again.status).toBe(StatusCode.OK);
    expect(relayed).toHaveLength(1);
  });

  it.each([
    ["an envelope from the future", { timestamp: BigInt(Date.now() + 60_000) }, /in the future/],
    ["an envelope from long ago", { timestamp: BigInt(Date.now() - 60_000) }, /in the past/],
    ["an empty payload", { payload: new Uint8Array(0) }, /empty payload/],
    ["an unknown envelope version", { version: 9 }, /unsupported envelope version/],
  ])("refuses %s with BAD_REQUEST and stores nothing", async (_name, patch, desc) => {
    const { archive, send } = await setup();
    const e = { ...createEnvelope({ contentTopic: "/t/p", payload: new Uint8Array([1]) }), ...patch };
    const res = await send((s) => pbStream(s).write({ requestId: "bad", envelope: e }, PushRequest));
    expect(res.status).toBe(StatusCode.BAD_REQUEST);
    expect(res.statusDesc).toMatch(desc);
    expect((await archive.stats()).envelopes).toBe(0);
  });

  it("refuses a push without an envelope and a malformed frame", async () => {
    const { send } = await setup();
    expect((await send((s) => pbStream(s).write({ requestId: "x" }, PushRequest))).status).toBe(
      StatusCode.BAD_REQUEST,
    );
    const garbage = await send((s) => lpStream(s).write(new Uint8Array([0xff, 0xff, 0xff])));
    expect(garbage.status).toBe(StatusCode.BAD_REQUEST);
    // A request id is at most 64 bytes, as in store queries.
    const envelope = createEnvelope({ contentTopic: "/t/id", payload: new Uint8Array([1]) });
    const long = await send((s) => pbStream(s).write({ requestId: "x".repeat(65), envelope }, PushRequest));
    expect(long.status).toBe(StatusCode.BAD_REQUEST);
    expect(long.statusDesc).toMatch(/request id longer than 64 bytes/);
  });

  it("with an evidence key, the receipt also carries its EIP-712 signature, which the protocol's check accepts", async () => {
    const { send } = await setup(true);
    const e = createEnvelope({ contentTopic: "/t/ev", payload: new Uint8Array([7]) });
    const res = await send((s) => pbStream(s).write({ requestId: "ev", envelope: e }, PushRequest));
    expect(res.status).toBe(StatusCode.OK);
    const receipt = receiptFromWire(operator, e, res.receipt!);
    expect(res.receipt!.evidence).toHaveLength(65);
    checkReceiptEvidence(domain, receipt, res.receipt!.evidence!, privateKeyToAccount(evidenceKey).address);
    expect(() =>
      checkReceiptEvidence(
        domain,
        receipt,
        res.receipt!.evidence!,
        privateKeyToAccount(generatePrivateKey()).address,
      ),
    ).toThrow(/expected/);
    // A receipt for another operator, or with a longer promise, is not what was signed.
    expect(() =>
      checkReceiptEvidence(
        domain,
        { ...receipt, retainUntil: receipt.retainUntil + 1n },
        res.receipt!.evidence!,
        privateKeyToAccount(evidenceKey).address,
      ),
    ).toThrow(/expected/);
  });
});
