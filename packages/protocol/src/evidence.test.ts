// EIP-712 evidence: signing and verifying with the contract's rules, and the type strings equal to
// the ones contracts/Disputes.sol hashes. (Against the contract itself: test/contracts/disputes.test.ts.)
import { readFileSync } from "node:fs";
import { Uint8ArrayList } from "uint8arraylist";
import { type Hex, hexToBytes, bytesToHex as toHexString } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { createEnvelope } from "./envelope.js";
import { InvalidSignatureError } from "./errors.js";
import {
  checkPageCommitmentEvidence,
  checkPresenceEvidence,
  checkReceiptEvidence,
  committedSpan,
  evidenceDigester,
  evidenceSignature,
  evidenceTypes,
  hashPageCommitment,
  hashPresence,
  hashReceipt,
  MAX_TIME,
  NO_CURSOR,
  type PageCommitment,
  type Presence,
  pageCommitmentFromWire,
  presenceFromWire,
  receiptFor,
  receiptFromWire,
  recoverEvidenceSigner,
  signPageCommitment,
  signPresence,
  signReceipt,
  verifyPageCommitment,
  verifyPresence,
  verifyReceipt,
} from "./evidence.js";
import { StatusCode } from "./pb/messages.js";
import { decodeStoreResponse, encodeStoreResponse } from "./store-response.js";

const domain = { chainId: 31337, verifyingContract: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" as const };
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const key = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const operator = "0x00000000000000000000000000000000000000fe" as const;
const envelope = createEnvelope({
  contentTopic: "/postbox/1/room-abc/proto",
  payload: new TextEncoder().encode("hello postbox"),
  timestamp: 1_700_000_000_123n,
});
const receipt = receiptFor(operator, envelope, {
  storedAt: 1_700_000_000_200n,
  retainUntil: 1_702_592_000_200n,
});
const commitment: PageCommitment = {
  operator,
  contentTopics: ["/postbox/1/room-abc/proto"],
  timeStart: 1_699_999_000_000n,
  timeEnd: 1_700_001_000_000n,
  ids: [toHexString(envelope.id)],
  nextCursor: NO_CURSOR,
  servedAt: 1_700_000_100_000n,
};

const presence: Presence = {
  operator,
  ids: [toHexString(envelope.id), toHexString(new Uint8Array(32).fill(7))],
  servedAt: 1_700_000_050_000n,
  retainUntil: 1_702_592_000_123n,
};

/** `Receipt(address operator,…)`, as EIP-712 encodes a type without nested structs. */
const typeString = (name: keyof typeof evidenceTypes) =>
  `${name}(${evidenceTypes[name].map((f) => `${f.type} ${f.name}`).join(",")})`;

describe("evidence", () => {
  it("the type strings are the contract's", () => {
    const source = readFileSync(new URL("../../../contracts/Disputes.sol", import.meta.url), "utf8");
    expect(source).toContain(`"${typeString("Receipt")}"`);
    expect(source).toContain(`"${typeString("PageCommitment")}"`);
    expect(source).toContain(`"${typeString("Presence")}"`);
    expect(typeString("Presence")).toBe(
      "Presence(address operator,bytes32[] ids,uint64 servedAt,uint64 retainUntil)",
    );
    expect(typeString("Receipt")).toBe(
      "Receipt(address operator,bytes32 envelopeId,string contentTopic,uint64 timestamp,uint64 storedAt,uint64 retainUntil)",
    );
  });

  it("a receipt signed by the evidence key verifies, and carries the envelope's fields", async () => {
    expect(receipt.envelopeId).toBe(toHexString(envelope.id));
    expect(receipt.contentTopic).toBe(envelope.contentTopic);
    expect(receipt.timestamp).toBe(envelope.timestamp);
    const sig = await signReceipt(key, domain, receipt);
    await verifyReceipt(domain, receipt, sig, key.address);
  });

  it("a page commitment signed by the evidence key verifies", async () => {
    const sig = await signPageCommitment(key, domain, commitment);
    await verifyPageCommitment(domain, commitment, sig, key.address);
  });

  it("a presence answer signed by the evidence key verifies; a changed id, time or signer is refused", async () => {
    const sig = await signPresence(key, domain, presence);
    await verifyPresence(domain, presence, sig, key.address);
    checkPresenceEvidence(domain, presence, sig, key.address);
    await expect(verifyPresence(domain, presence, sig, other.address)).rejects.toThrow(InvalidSignatureError);
    for (const changed of [
      { ...presence, ids: presence.ids.slice(1) },
      { ...presence, ids: [...presence.ids].reverse() },
      { ...presence, servedAt: presence.servedAt - 1n },
      { ...presence, retainUntil: presence.retainUntil + 1n },
      { ...presence, operator: other.address },
    ])
      expect(() => checkPresenceEvidence(domain, changed, sig, key.address)).toThrow(/expected/);
    expect(() => hashPresence(domain, { ...presence, retainUntil: 1n << 64n })).toThrow(RangeError);
  });

  it("refuses another signer, a changed field, another contract or chain", async () => {
    const sig = await signReceipt(key, domain, receipt);
    await expect(verifyReceipt(domain, receipt, sig, other.address)).rejects.toThrow(InvalidSignatureError);
    await expect(
      verifyReceipt(domain, { ...receipt, retainUntil: receipt.retainUntil + 1n }, sig, key.address),
    ).rejects.toThrow(/expected/);
    await expect(verifyReceipt({ ...domain, chainId: 1 }, receipt, sig, key.address)).rejects.toThrow(
      /expected/,
    );
    const csig = await signPageCommitment(key, domain, commitment);
    await expect(verifyPageCommitment(domain, { ...commitment, ids: [] }, csig, key.address)).rejects.toThrow(
      /expected/,
    );
    await expect(
      verifyPageCommitment(domain, { ...commitment, contentTopics: ["/other"] }, csig, key.address),
    ).rejects.toThrow(/expected/);
  });

  it("refuses signatures the contract refuses: high s, v of 0/1, 64 bytes, not hex", async () => {
    const sig = hexToBytes(await signReceipt(key, domain, receipt));
    const s = BigInt(toHexString(sig.slice(32, 64)));
    const mirrored = new Uint8Array(sig);
    mirrored.set(hexToBytes(`0x${(N - s).toString(16).padStart(64, "0")}` as Hex), 32);
    mirrored[64] = sig[64] === 27 ? 28 : 27;
    await expect(verifyReceipt(domain, receipt, toHexString(mirrored), key.address)).rejects.toThrow(
      /signature s/,
    );
    const v01 = new Uint8Array(sig);
    v01[64] = sig[64]! - 27;
    await expect(verifyReceipt(domain, receipt, toHexString(v01), key.address)).rejects.toThrow(
      /signature v/,
    );
    await expect(verifyReceipt(domain, receipt, toHexString(sig.slice(0, 64)), key.address)).rejects.toThrow(
      /signature length/,
    );
    await expect(verifyReceipt(domain, receipt, "0xzz" as Hex, key.address)).rejects.toThrow(/malformed/);
  });

  it("digests differ between the two types and refuse times outside uint64", () => {
    expect(hashReceipt(domain, receipt)).not.toBe(hashPageCommitment(domain, commitment));
    expect(() => hashReceipt(domain, { ...receipt, storedAt: 1n << 64n })).toThrow(RangeError);
    expect(() => hashPageCommitment(domain, { ...commitment, servedAt: -1n })).toThrow(RangeError);
  });

  it("the direct digester equals viem's typed-data hashes, for every field and empty lists", () => {
    const digest = evidenceDigester(domain);
    const hex = (b: Uint8Array) => toHexString(b);
    expect(hex(digest.receipt(receipt))).toBe(hashReceipt(domain, receipt));
    const bytesReceipt = { ...receipt, operator: hexToBytes(operator), envelopeId: envelope.id };
    expect(hex(digest.receipt(bytesReceipt))).toBe(hashReceipt(domain, receipt));
    for (const c of [
      commitment,
      { ...commitment, ids: [], contentTopics: ["/a", "/b", "/postbox/1/inbox-7/proto"] },
      { ...commitment, nextCursor: toHexString(envelope.id), timeStart: 1n, timeEnd: 0n },
      {
        ...commitment,
        timeEnd: MAX_TIME,
        ids: Array.from({ length: 100 }, (_, i) => toHexString(new Uint8Array(32).fill(i))),
      },
    ]) {
      expect(hex(digest.pageCommitment(c))).toBe(hashPageCommitment(domain, c));
    }
    // An absent next cursor is 32 zero bytes.
    expect(hex(digest.pageCommitment({ ...commitment, nextCursor: undefined }))).toBe(
      hashPageCommitment(domain, commitment),
    );
    expect(hex(evidenceDigester({ ...domain, chainId: 1 }).receipt(receipt))).toBe(
      hashReceipt({ ...domain, chainId: 1 }, receipt),
    );
    for (const p of [presence, { ...presence, ids: [] }, { ...presence, retainUntil: MAX_TIME }])
      expect(hex(digest.presence(p))).toBe(hashPresence(domain, p));
    expect(hex(digest.presence({ ...presence, operator: hexToBytes(operator) }))).toBe(
      hashPresence(domain, presence),
    );
    expect(hashPresence(domain, presence)).not.toBe(hashPageCommitment(domain, commitment));
    expect(() => digest.receipt({ ...receipt, envelopeId: envelope.id.subarray(1) })).toThrow(RangeError);
    expect(() => digest.pageCommitment({ ...commitment, servedAt: 1n << 64n })).toThrow(RangeError);
  });

  it("synchronous checks: the signer's evidence passes, another key's, a changed field or a bad shape is refused", async () => {
    const rsig = await signReceipt(key, domain, receipt);
    expect(recoverEvidenceSigner(evidenceDigester(domain).receipt(receipt), rsig)).toBe(key.address);
    checkReceiptEvidence(domain, receipt, rsig, key.address);
    checkReceiptEvidence(domain, receipt, hexToBytes(rsig), key.address);
    expect(() => checkReceiptEvidence(domain, receipt, rsig, other.address)).toThrow(InvalidSignatureError);
    expect(() =>
      checkReceiptEvidence(domain, { ...receipt, storedAt: receipt.storedAt + 1n }, rsig, key.address),
    ).toThrow(/expected/);
    const forged = await signReceipt(other, domain, receipt);
    expect(() => checkReceiptEvidence(domain, receipt, forged, key.address)).toThrow(/expected/);
    const short = hexToBytes(rsig).slice(0, 64);
    expect(() => checkReceiptEvidence(domain, receipt, short, key.address)).toThrow(/signature length/);
    const csig = await signPageCommitment(key, domain, commitment);
    checkPageCommitmentEvidence(domain, commitment, csig, key.address);
    expect(() =>
      checkPageCommitmentEvidence(
        domain,
        { ...commitment, timeEnd: commitment.timeEnd + 1n },
        csig,
        key.address,
      ),
    ).toThrow(/expected/);
  });

  it("evidenceSignature makes r ‖ s ‖ 27 + recovery, which the checks accept", async () => {
    const sig = hexToBytes(await signReceipt(key, domain, receipt));
    const again = evidenceSignature(sig.subarray(0, 64), sig[64]! - 27);
    expect(toHexString(again)).toBe(toHexString(sig));
    expect(() => evidenceSignature(sig.subarray(0, 64), 2)).toThrow(RangeError);
  });

  it("the wire forms give back the signed receipt and commitment", () => {
    expect(
      receiptFromWire(operator, envelope, {
        envelopeId: envelope.id,
        storedAt: receipt.storedAt,
        retainUntil: receipt.retainUntil,
      }),
    ).toEqual(receipt);
    expect(() =>
      receiptFromWire(operator, envelope, { envelopeId: new Uint8Array(32), storedAt: 1n, retainUntil: 2n }),
    ).toThrow(/another envelope/);
    const response = {
      ids: [envelope.id],
      servedAt: commitment.servedAt,
      evidenceTimeStart: commitment.timeStart,
      evidenceTimeEnd: commitment.timeEnd,
      evidence: new Uint8Array(65),
    };
    expect(pageCommitmentFromWire(operator, { contentTopics: commitment.contentTopics }, response)).toEqual(
      commitment,
    );
    expect(
      pageCommitmentFromWire(operator, commitment, { ...response, nextCursor: envelope.id })?.nextCursor,
    ).toBe(toHexString(envelope.id));
    expect(pageCommitmentFromWire(operator, commitment, { ids: [] })).toBeUndefined();
    const answer = {
      ids: presence.ids.map((id) => hexToBytes(id)),
      servedAt: presence.servedAt,
      retainUntil: presence.retainUntil,
      evidence: new Uint8Array(65),
    };
    expect(presenceFromWire(operator, answer)).toEqual(presence);
    // A decoder that read fixed64 as signed: taken modulo 2^64.
    expect(presenceFromWire(operator, { ...answer, retainUntil: -1n })?.retainUntil).toBe(MAX_TIME);
    expect(presenceFromWire(operator, { ...answer, evidence: undefined })).toBeUndefined();
  });

  it("committedSpan: the query's range, narrowed strictly inside the page's boundaries", () => {
    const fwd = { forward: true };
    const back = { forward: false };
    expect(committedSpan(fwd, { more: false })).toEqual({ timeStart: 0n, timeEnd: MAX_TIME });
    expect(committedSpan({ ...fwd, timeStart: 10n, timeEnd: 90n }, { more: false })).toEqual({
      timeStart: 10n,
      timeEnd: 90n,
    });
    // Forward: after the cursor, before the last returned when more remain.
    expect(
      committedSpan({ ...fwd, timeStart: 10n }, { cursorTimestamp: 20n, lastTimestamp: 50n, more: true }),
    ).toEqual({
      timeStart: 21n,
      timeEnd: 49n,
    });
    // A cursor before the query's start does not widen the span.
    expect(committedSpan({ ...fwd, timeStart: 30n }, { cursorTimestamp: 20n, more: false })).toEqual({
      timeStart: 30n,
      timeEnd: MAX_TIME,
    });
    // Backward, mirrored.
    expect(
      committedSpan({ ...back, timeEnd: 100n }, { cursorTimestamp: 80n, lastTimestamp: 40n, more: true }),
    ).toEqual({
      timeStart: 41n,
      timeEnd: 79n,
    });
    expect(committedSpan({ ...back, timeEnd: 70n }, { cursorTimestamp: 80n, more: false })).toEqual({
      timeStart: 0n,
      timeEnd: 70n,
    });
    // No whole millisecond inside: the empty span {1, 0}.
    expect(committedSpan(fwd, { cursorTimestamp: 50n, lastTimestamp: 50n, more: true })).toEqual({
      timeStart: 1n,
      timeEnd: 0n,
    });
    expect(committedSpan(back, { cursorTimestamp: 0n, more: false })).toEqual({ timeStart: 1n, timeEnd: 0n });
  });

  it("a page's evidence fields survive the store-response codec, an open span's 2^64 − 1 included", () => {
    const response = {
      requestId: "r",
      status: StatusCode.OK,
      statusDesc: "OK",
      envelopes: [envelope],
      ids: [envelope.id],
      spent: new Uint8Array(0),
      cost: new Uint8Array(0),
      commitment: new Uint8Array(64),
      servedAt: 1_700_000_100_000n,
      evidenceTimeStart: 0n,
      evidenceTimeEnd: MAX_TIME,
      evidence: new Uint8Array(65).fill(7),
    };
    const bytes = encodeStoreResponse(response);
    // The decoder passes every field but the envelopes through a skip that reads varints only below
    // 2^53 (as readers that predate these fields do): fixed64 keeps them readable.
    const decoded = decodeStoreResponse(bytes);
    expect(decoded.evidenceTimeEnd).toBe(MAX_TIME);
    expect(decoded.evidenceTimeStart).toBe(0n);
    expect(decoded.servedAt).toBe(response.servedAt);
    expect(decoded.evidence).toEqual(response.evidence);
    expect(decoded.envelopes[0]!.payload).toEqual(envelope.payload);
    // Cut in two frames anywhere, the same.
    for (const at of [1, 20, bytes.length - 70, bytes.length - 3]) {
      const parts = new Uint8ArrayList(bytes.subarray(0, at), bytes.subarray(at));
      expect(decodeStoreResponse(parts).evidenceTimeEnd).toBe(MAX_TIME);
    }
    // A presence answer's evidence (no envelopes: the generated encoder), retain_until included.
    const answer = { ...response, envelopes: [], commitment: new Uint8Array(0), retainUntil: MAX_TIME };
    const back = decodeStoreResponse(encodeStoreResponse(answer));
    expect(back.retainUntil).toBe(MAX_TIME);
    expect(presenceFromWire(operator, back)).toEqual({
      operator,
      ids: [toHexString(envelope.id)],
      servedAt: response.servedAt,
      retainUntil: MAX_TIME,
    });
  });
});
