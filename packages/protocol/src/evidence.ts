import {
  type Address,
  bytesToHex,
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
