// EIP-712 evidence: signing and verifying with the contract's rules, and the type strings equal to
// the ones contracts/Disputes.sol hashes. (Against the contract itself: test/contracts/disputes.test.ts.)
import { readFileSync } from "node:fs";
import { type Hex, hexToBytes, bytesToHex as toHexString } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { createEnvelope } from "./envelope.js";
import { InvalidSignatureError } from "./errors.js";
import {
  evidenceTypes,
  hashPageCommitment,
  hashReceipt,
  NO_CURSOR,
  type PageCommitment,
  receiptFor,
  signPageCommitment,
  signReceipt,
  verifyPageCommitment,
  verifyReceipt,
} from "./evidence.js";

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

/** `Receipt(address operator,…)`, as EIP-712 encodes a type without nested structs. */
const typeString = (name: keyof typeof evidenceTypes) =>
  `${name}(${evidenceTypes[name].map((f) => `${f.type} ${f.name}`).join(",")})`;

describe("evidence", () => {
  it("the type strings are the contract's", () => {
    const source = readFileSync(new URL("../../../contracts/Disputes.sol", import.meta.url), "utf8");
    expect(source).toContain(`"${typeString("Receipt")}"`);
    expect(source).toContain(`"${typeString("PageCommitment")}"`);
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
});
