import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  type Address,
  bytesToHex,
  getAddress,
  type Hex,
  hashTypedData,
  hexToBytes,
  isAddressEqual,
  isHex,
  type LocalAccount,
  recoverAddress,
} from "viem";
import type { IdentifiedEnvelope } from "./envelope.js";
import { InvalidSignatureError } from "./errors.js";
import { secp } from "./secp.js";
import { checkVoucherSignature } from "./vouchers.js";

/**
 * EIP-712 evidence a contract can check (`contracts/Disputes.sol`): a mailbox's custody
 * {@link Receipt} and a history {@link PageCommitment}, signed by the secp256k1 "evidence signer"
 * its operator names in the registry (`setEvidenceSigner`). The types are written once, here;
 * `docs/protocol.md` ("Evidence") gives them byte for byte. Times are milliseconds since the epoch.
 */
export const EVIDENCE_DOMAIN_NAME = "Postbox Disputes";
export const EVIDENCE_DOMAIN_VERSION = "1";

/** The EIP-712 types of the evidence (equal to the contract's type hashes; tested on-chain). */
export const evidenceTypes = {
  Receipt: [
    { name: "operator", type: "address" },
    { name: "envelopeId", type: "bytes32" },
    { name: "contentTopic", type: "string" },
    { name: "timestamp", type: "uint64" },
    { name: "storedAt", type: "uint64" },
    { name: "retainUntil", type: "uint64" },
  ],
  PageCommitment: [
    { name: "operator", type: "address" },
    { name: "contentTopics", type: "string[]" },
    { name: "timeStart", type: "uint64" },
    { name: "timeEnd", type: "uint64" },
    { name: "ids", type: "bytes32[]" },
    { name: "nextCursor", type: "bytes32" },
    { name: "servedAt", type: "uint64" },
  ],
  Presence: [
    { name: "operator", type: "address" },
    { name: "ids", type: "bytes32[]" },
    { name: "servedAt", type: "uint64" },
    { name: "retainUntil", type: "uint64" },
  ],
} as const;

/** Which disputes contract, on which chain, evidence is for. */
export interface EvidenceDomain {
  chainId: number;
  /** The disputes contract (the registry's `disputes()`). */
  verifyingContract: Address;
}

/** "I stored this envelope at `storedAt` and keep it until `retainUntil`." */
export interface Receipt {
  /** The mailbox's registry entry (its operator address). */
  operator: Address;
  envelopeId: Hex;
  contentTopic: string;
  /** The envelope's timestamp (ms). */
  timestamp: bigint;
  storedAt: bigint;
  retainUntil: bigint;
}

/**
 * "On these topics, from `timeStart` to `timeEnd` (inclusive, ms), I hold exactly `ids`." The span
 * is the one the page is complete for (see docs/protocol.md, "Evidence"); `nextCursor` is the
 * page's next cursor, zero when the query is complete.
 */
export interface PageCommitment {
  operator: Address;
  contentTopics: readonly string[];
  timeStart: bigint;
  timeEnd: bigint;
  ids: readonly Hex[];
  nextCursor: Hex;
  servedAt: bigint;
}

/**
 * A presence answer's promise: "at `servedAt` I hold every one of `ids`, and keep each until at
 * least `retainUntil`". The mailbox takes `servedAt` after it looked the ids up, so each was in its
 * archive before then: with a later page commitment that leaves one out, it proves an omission.
 */
export interface Presence {
  operator: Address;
  ids: readonly Hex[];
  servedAt: bigint;
  retainUntil: bigint;
}

/** The 32 zero bytes of a complete page's `nextCursor`. */
export const NO_CURSOR: Hex = `0x${"00".repeat(32)}`;

const MAX_U64 = (1n << 64n) - 1n;

/** The EIP-712 domain object for viem's typed-data functions. */
export function evidenceDomain(domain: EvidenceDomain) {
  return {
    name: EVIDENCE_DOMAIN_NAME,
    version: EVIDENCE_DOMAIN_VERSION,
    chainId: domain.chainId,
    verifyingContract: domain.verifyingContract,
  } as const;
}

/** A receipt for an envelope (its id, topic and timestamp taken from the envelope). */
export function receiptFor(
  operator: Address,
  envelope: IdentifiedEnvelope,
  times: { storedAt: bigint; retainUntil: bigint },
): Receipt {
  return {
    operator,
    envelopeId: bytesToHex(envelope.id),
    contentTopic: envelope.contentTopic,
    timestamp: envelope.timestamp,
    storedAt: times.storedAt,
    retainUntil: times.retainUntil,
  };
}

function checkU64(name: string, v: bigint): void {
  if (v < 0n || v > MAX_U64) throw new RangeError(`${name} out of uint64 range: ${v}`);
}

function checkReceipt(r: Receipt): void {
  checkU64("timestamp", r.timestamp);
  checkU64("storedAt", r.storedAt);
  checkU64("retainUntil", r.retainUntil);
}

function checkCommitment(c: PageCommitment): void {
  checkU64("timeStart", c.timeStart);
  checkU64("timeEnd", c.timeEnd);
  checkU64("servedAt", c.servedAt);
}

function checkPresence(p: Presence): void {
  checkU64("servedAt", p.servedAt);
  checkU64("retainUntil", p.retainUntil);
}

/** The receipt's digest: what the evidence signer signs, and its custody dispute id on-chain. */
export function hashReceipt(domain: EvidenceDomain, receipt: Receipt): Hex {
  checkReceipt(receipt);
  return hashTypedData({
    domain: evidenceDomain(domain),
    types: evidenceTypes,
    primaryType: "Receipt",
    message: receipt,
  });
}

/** The commitment's digest: what the evidence signer signs, and its omission dispute id on-chain. */
export function hashPageCommitment(domain: EvidenceDomain, commitment: PageCommitment): Hex {
  checkCommitment(commitment);
  return hashTypedData({
    domain: evidenceDomain(domain),
    types: evidenceTypes,
    primaryType: "PageCommitment",
    message: commitment,
  });
}

/** A presence answer's digest: what the evidence signer signs. */
export function hashPresence(domain: EvidenceDomain, presence: Presence): Hex {
  checkPresence(presence);
  return hashTypedData({
    domain: evidenceDomain(domain),
    types: evidenceTypes,
    primaryType: "Presence",
    message: presence,
  });
}

/** Signs a receipt with the evidence signer's key. */
export async function signReceipt(
  account: LocalAccount,
  domain: EvidenceDomain,
  receipt: Receipt,
): Promise<Hex> {
  checkReceipt(receipt);
  return account.signTypedData({
    domain: evidenceDomain(domain),
    types: evidenceTypes,
    primaryType: "Receipt",
    message: receipt,
  });
}

/** Signs a page commitment with the evidence signer's key. */
export async function signPageCommitment(
  account: LocalAccount,
  domain: EvidenceDomain,
  commitment: PageCommitment,
): Promise<Hex> {
  checkCommitment(commitment);
  return account.signTypedData({
    domain: evidenceDomain(domain),
    types: evidenceTypes,
    primaryType: "PageCommitment",
    message: commitment,
  });
}

/** Signs a presence answer with the evidence signer's key. */
export async function signPresence(
  account: LocalAccount,
  domain: EvidenceDomain,
  presence: Presence,
): Promise<Hex> {
  checkPresence(presence);
  return account.signTypedData({
    domain: evidenceDomain(domain),
    types: evidenceTypes,
    primaryType: "Presence",
    message: presence,
  });
}

async function checkSigner(digest: Hex, signature: Hex, signer: Address): Promise<void> {
  if (!isHex(signature, { strict: true }) || signature.length % 2 !== 0)
    throw new InvalidSignatureError("malformed evidence signature");
  try {
    // The contract's rules (OpenZeppelin ECDSA): 65 bytes, v ∈ {27, 28}, low s.
    checkVoucherSignature(hexToBytes(signature));
  } catch (cause) {
    throw new InvalidSignatureError(`evidence signature refused: ${(cause as Error).message}`);
  }
  let recovered: Address;
  try {
    recovered = await recoverAddress({ hash: digest, signature });
  } catch (cause) {
    throw new InvalidSignatureError(`malformed evidence signature: ${String(cause)}`);
  }
  if (!isAddressEqual(recovered, signer)) {
    throw new InvalidSignatureError(`evidence signed by ${recovered}, expected ${signer}`);
  }
}

/**
 * Checks a receipt's signature as the disputes contract does (shape, then the recovered key must be
 * `signer`, the operator's evidence signer read from the registry). Throws
 * {@link InvalidSignatureError}. Whether `signer` was the operator's signer at `storedAt` is the
 * registry's `evidenceSignerTerm`: the caller checks.
 */
export async function verifyReceipt(
  domain: EvidenceDomain,
  receipt: Receipt,
  signature: Hex,
  signer: Address,
): Promise<void> {
  await checkSigner(hashReceipt(domain, receipt), signature, signer);
}

/** Checks a page commitment's signature as the disputes contract does; see {@link verifyReceipt}. */
export async function verifyPageCommitment(
  domain: EvidenceDomain,
  commitment: PageCommitment,
  signature: Hex,
  signer: Address,
): Promise<void> {
  await checkSigner(hashPageCommitment(domain, commitment), signature, signer);
}

/** Checks a presence answer's signature as the disputes contract does; see {@link verifyReceipt}. */
export async function verifyPresence(
  domain: EvidenceDomain,
  presence: Presence,
  signature: Hex,
  signer: Address,
): Promise<void> {
  await checkSigner(hashPresence(domain, presence), signature, signer);
}

/** An envelope's fields as `Disputes.answerCustody` and `proveOmission` take them. */
export function envelopeArgs(envelope: IdentifiedEnvelope): {
  version: bigint;
  contentTopic: string;
  timestamp: bigint;
  payload: Hex;
} {
  return {
    version: BigInt(envelope.version),
    contentTopic: envelope.contentTopic,
    timestamp: envelope.timestamp,
    payload: bytesToHex(envelope.payload),
  };
}

// ---------------------------------------------------------------------------------------------
// Direct digests (the mailbox signs one per receipt and per page) and synchronous verification
// ---------------------------------------------------------------------------------------------

const utf8 = new TextEncoder();
const typeString = (name: keyof typeof evidenceTypes) =>
  `${name}(${evidenceTypes[name].map((f) => `${f.type} ${f.name}`).join(",")})`;
const RECEIPT_TYPEHASH = keccak_256(utf8.encode(typeString("Receipt")));
const PAGE_TYPEHASH = keccak_256(utf8.encode(typeString("PageCommitment")));
const PRESENCE_TYPEHASH = keccak_256(utf8.encode(typeString("Presence")));
const DOMAIN_TYPEHASH = keccak_256(
  utf8.encode("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
);

/** Bytes given as bytes or as 0x hex. */
export type BytesLike = Uint8Array | Hex;

function bytesOf(v: BytesLike, length: number, name: string): Uint8Array {
  const b = typeof v === "string" ? hexToBytes(v) : v;
  if (b.length !== length) throw new RangeError(`${name} must be ${length} bytes, not ${b.length}`);
  return b;
}

/** Writes a uint64 as the last 8 bytes of the 32-byte word at `at`. */
function putU64(out: Uint8Array, at: number, name: string, v: bigint): void {
  checkU64(name, v);
  new DataView(out.buffer, out.byteOffset + at + 24, 8).setBigUint64(0, v);
}

/**
 * What the digesters below take: {@link Receipt} and {@link PageCommitment} with byte fields as
 * bytes (as they come off the wire) or hex.
 */
export interface ReceiptInput {
  operator: BytesLike;
  envelopeId: BytesLike;
  contentTopic: string;
  timestamp: bigint;
  storedAt: bigint;
  retainUntil: bigint;
}
export interface PageCommitmentInput {
  operator: BytesLike;
  contentTopics: readonly string[];
  timeStart: bigint;
  timeEnd: bigint;
  ids: readonly BytesLike[];
  /** Absent (or 32 zero bytes) when the query is complete. */
  nextCursor?: BytesLike | undefined;
  servedAt: bigint;
}
export interface PresenceInput {
  operator: BytesLike;
  ids: readonly BytesLike[];
  servedAt: bigint;
  retainUntil: bigint;
}

/** Computes receipt and page-commitment digests for one domain, its separator hashed once. */
export interface EvidenceDigester {
  /** keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(receipt)): equal to {@link hashReceipt}. */
  receipt(receipt: ReceiptInput): Uint8Array;
  /** Equal to {@link hashPageCommitment}. */
  pageCommitment(commitment: PageCommitmentInput): Uint8Array;
  /** Equal to {@link hashPresence}. */
  presence(presence: PresenceInput): Uint8Array;
}

/**
 * The EIP-712 digests computed directly with keccak256 (no ABI encoder): the mailbox's hot path
 * (a page commitment per history page). Equal to {@link hashReceipt} and
 * {@link hashPageCommitment} (tested, and against the contract).
 */
export function evidenceDigester(domain: EvidenceDomain): EvidenceDigester {
  const d = new Uint8Array(160);
  d.set(DOMAIN_TYPEHASH, 0);
  d.set(keccak_256(utf8.encode(EVIDENCE_DOMAIN_NAME)), 32);
  d.set(keccak_256(utf8.encode(EVIDENCE_DOMAIN_VERSION)), 64);
  new DataView(d.buffer).setBigUint64(120, BigInt(domain.chainId));
  d.set(bytesOf(domain.verifyingContract, 20, "verifyingContract"), 140);
  const separator = keccak_256(d);
  const digest = (structHash: Uint8Array) => {
    const m = new Uint8Array(66);
    m[0] = 0x19;
    m[1] = 0x01;
    m.set(separator, 2);
    m.set(structHash, 34);
    return keccak_256(m);
  };
  const topicHashes = new Map<string, Uint8Array>();
  const topicHash = (topic: string) => {
    let h = topicHashes.get(topic);
    if (h === undefined) {
      h = keccak_256(utf8.encode(topic));
      if (topicHashes.size < 4096) topicHashes.set(topic, h);
    }
    return h;
  };
  const idsHash = (list: readonly BytesLike[]) => {
    const ids = new Uint8Array(32 * list.length);
    list.forEach((id, i) => {
      ids.set(bytesOf(id, 32, "id"), 32 * i);
    });
    return keccak_256(ids);
  };
  return {
    receipt(r) {
      const s = new Uint8Array(7 * 32);
      s.set(RECEIPT_TYPEHASH, 0);
      s.set(bytesOf(r.operator, 20, "operator"), 44);
      s.set(bytesOf(r.envelopeId, 32, "envelopeId"), 64);
      s.set(topicHash(r.contentTopic), 96);
      putU64(s, 128, "timestamp", r.timestamp);
      putU64(s, 160, "storedAt", r.storedAt);
      putU64(s, 192, "retainUntil", r.retainUntil);
      return digest(keccak_256(s));
    },
    pageCommitment(c) {
      const topics = new Uint8Array(32 * c.contentTopics.length);
      c.contentTopics.forEach((t, i) => {
        topics.set(topicHash(t), 32 * i);
      });
      const s = new Uint8Array(8 * 32);
      s.set(PAGE_TYPEHASH, 0);
      s.set(bytesOf(c.operator, 20, "operator"), 44);
      s.set(keccak_256(topics), 64);
      putU64(s, 96, "timeStart", c.timeStart);
      putU64(s, 128, "timeEnd", c.timeEnd);
      s.set(idsHash(c.ids), 160);
      if (c.nextCursor !== undefined) s.set(bytesOf(c.nextCursor, 32, "nextCursor"), 192);
      putU64(s, 224, "servedAt", c.servedAt);
      return digest(keccak_256(s));
    },
    presence(p) {
      const s = new Uint8Array(5 * 32);
      s.set(PRESENCE_TYPEHASH, 0);
      s.set(bytesOf(p.operator, 20, "operator"), 44);
      s.set(idsHash(p.ids), 64);
      putU64(s, 96, "servedAt", p.servedAt);
      putU64(s, 128, "retainUntil", p.retainUntil);
      return digest(keccak_256(s));
    },
  };
}

/** 65 bytes `r ‖ s ‖ v` (v = 27 + recovery), as the contract takes them, from libsecp256k1's output. */
export function evidenceSignature(signature: Uint8Array, recovery: number): Uint8Array {
  if (signature.length !== 64 || (recovery !== 0 && recovery !== 1))
    throw new RangeError("a 64-byte signature and a recovery id of 0 or 1");
  const out = new Uint8Array(65);
  out.set(signature, 0);
  out[64] = 27 + recovery;
  return out;
}

/**
 * The address a 65-byte evidence signature over `digest` recovers to, under the contract's rules
 * (v ∈ {27, 28}, low s). Throws {@link InvalidSignatureError}.
 */
export function recoverEvidenceSigner(digest: Uint8Array, signature: BytesLike): Address {
  const sig = typeof signature === "string" ? hexToBytes(signature) : signature;
  let recovery: number;
  try {
    recovery = checkVoucherSignature(sig);
  } catch (cause) {
    throw new InvalidSignatureError(`evidence signature refused: ${(cause as Error).message}`);
  }
  const recovered = new Uint8Array(65);
  recovered[0] = recovery;
  recovered.set(sig.subarray(0, 64), 1);
  let publicKey: Uint8Array;
  try {
    publicKey = secp.recoverPublicKey(recovered, digest, { prehash: false, isCompressed: false });
  } catch (cause) {
    throw new InvalidSignatureError(`malformed evidence signature: ${String(cause)}`);
  }
  return getAddress(bytesToHex(keccak_256(publicKey.subarray(1)).subarray(12)));
}

function expectSigner(digest: Uint8Array, signature: BytesLike, signer: Address): void {
  const recovered = recoverEvidenceSigner(digest, signature);
  if (!isAddressEqual(recovered, signer))
    throw new InvalidSignatureError(`evidence signed by ${recovered}, expected ${signer}`);
}

/**
 * Checks, synchronously and without a chain, that a mailbox's receipt evidence (the `evidence` of a
 * `StoreReceipt`) was signed by `signer` (the operator's evidence signer, from the registry's
 * `evidenceSigner`/`evidenceSignerTerm`). Build the receipt with {@link receiptFromWire}. Throws
 * {@link InvalidSignatureError}.
 */
export function checkReceiptEvidence(
  domain: EvidenceDomain,
  receipt: ReceiptInput,
  signature: BytesLike,
  signer: Address,
): void {
  expectSigner(evidenceDigester(domain).receipt(receipt), signature, signer);
}

/** As {@link checkReceiptEvidence}, for a history page's commitment ({@link pageCommitmentFromWire}). */
export function checkPageCommitmentEvidence(
  domain: EvidenceDomain,
  commitment: PageCommitmentInput,
  signature: BytesLike,
  signer: Address,
): void {
  expectSigner(evidenceDigester(domain).pageCommitment(commitment), signature, signer);
}

/** As {@link checkReceiptEvidence}, for a presence answer's evidence ({@link presenceFromWire}). */
export function checkPresenceEvidence(
  domain: EvidenceDomain,
  presence: PresenceInput,
  signature: BytesLike,
  signer: Address,
): void {
  expectSigner(evidenceDigester(domain).presence(presence), signature, signer);
}

/**
 * The {@link Receipt} a `/postbox/push/1` answer promises: the envelope pushed (its id, topic and
 * timestamp) and the `StoreReceipt`'s `stored_at` and `retain_until`, for the operator the
 * mailbox is listed under (its `/postbox/info/1` `operator`).
 */
export function receiptFromWire(
  operator: Address,
  envelope: IdentifiedEnvelope,
  storeReceipt: { envelopeId: Uint8Array; storedAt: bigint; retainUntil: bigint },
): Receipt {
  if (bytesToHex(storeReceipt.envelopeId) !== bytesToHex(envelope.id))
    throw new InvalidSignatureError("the receipt is for another envelope");
  return receiptFor(operator, envelope, storeReceipt);
}

/**
 * The {@link PageCommitment} a history page's `evidence` signs: the query's topics, the span from
 * the response's `evidence_time_start`/`evidence_time_end`, the ids returned, the next cursor (32
 * zero bytes when absent) and `served_at`. Undefined when the response carries no evidence.
 * Whether the span is the one the rules give is {@link committedSpan}'s (the reader checks).
 */
export function pageCommitmentFromWire(
  operator: Address,
  query: { contentTopics: readonly string[] },
  response: {
    ids: readonly Uint8Array[];
    nextCursor?: Uint8Array | undefined;
    servedAt?: bigint | undefined;
    evidenceTimeStart?: bigint | undefined;
    evidenceTimeEnd?: bigint | undefined;
    evidence?: Uint8Array | undefined;
  },
): PageCommitment | undefined {
  const { servedAt, evidenceTimeStart, evidenceTimeEnd, evidence } = response;
  if (
    evidence === undefined ||
    servedAt === undefined ||
    evidenceTimeStart === undefined ||
    evidenceTimeEnd === undefined
  )
    return undefined;
  // fixed64 on the wire, unsigned (a decoder may have read them as signed).
  return {
    operator,
    contentTopics: [...query.contentTopics],
    timeStart: BigInt.asUintN(64, evidenceTimeStart),
    timeEnd: BigInt.asUintN(64, evidenceTimeEnd),
    ids: response.ids.map((id) => bytesToHex(id)),
    nextCursor: response.nextCursor ? bytesToHex(response.nextCursor) : NO_CURSOR,
    servedAt: BigInt.asUintN(64, servedAt),
  };
}

/**
 * The {@link Presence} a presence answer's `evidence` signs: the ids it lists as held (in its
 * order), its `served_at` and `retain_until`. Undefined when the answer carries no evidence.
 */
export function presenceFromWire(
  operator: Address,
  response: {
    ids: readonly Uint8Array[];
    servedAt?: bigint | undefined;
    retainUntil?: bigint | undefined;
    evidence?: Uint8Array | undefined;
  },
): Presence | undefined {
  const { servedAt, retainUntil, evidence } = response;
  if (evidence === undefined || servedAt === undefined || retainUntil === undefined) return undefined;
  return {
    operator,
    ids: response.ids.map((id) => bytesToHex(id)),
    servedAt: BigInt.asUintN(64, servedAt),
    retainUntil: BigInt.asUintN(64, retainUntil),
  };
}

/** The largest uint64: an absent `time_end`. */
export const MAX_TIME = MAX_U64;

/**
 * The span `[timeStart, timeEnd]` (inclusive, ms) a history page is complete for, which its page
 * commitment signs (docs/protocol.md, "Evidence"): the query's range, narrowed to what lies
 * strictly inside the page's boundaries: after the cursor envelope's timestamp (before it, going
 * backward) when the query has a cursor, and before the last returned envelope's timestamp (after
 * it, going backward) when the page has a next cursor. An empty span is `{1, 0}`.
 */
export function committedSpan(
  query: { timeStart?: bigint | undefined; timeEnd?: bigint | undefined; forward: boolean },
  page: { cursorTimestamp?: bigint | undefined; lastTimestamp?: bigint | undefined; more: boolean },
): { timeStart: bigint; timeEnd: bigint } {
  let start = query.timeStart ?? 0n;
  let end = query.timeEnd ?? MAX_U64;
  const { cursorTimestamp: cursor, lastTimestamp: last } = page;
  if (query.forward) {
    if (cursor !== undefined && cursor + 1n > start) start = cursor + 1n;
    if (page.more && last !== undefined && last - 1n < end) end = last - 1n;
  } else {
    if (cursor !== undefined && cursor - 1n < end) end = cursor - 1n;
    if (page.more && last !== undefined && last + 1n > start) start = last + 1n;
  }
  if (end < start || end < 0n || start > MAX_U64) return { timeStart: 1n, timeEnd: 0n };
  return { timeStart: start, timeEnd: end };
}
