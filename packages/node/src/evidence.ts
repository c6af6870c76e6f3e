import { type Secp256k1, secp256k1 } from "@postbox/net/secp256k1";
import {
  type EvidenceDigester,
  type EvidenceDomain,
  evidenceDigester,
  evidenceSignature,
  type PageCommitmentInput,
  type PresenceInput,
  type ReceiptInput,
} from "@postbox/protocol";
import { type Address, type Hex, hexToBytes } from "viem";
import { privateKeyToAddress } from "viem/accounts";

/**
 * Signs the mailbox's EIP-712 evidence (docs/protocol.md, "Evidence") with its evidence key: a
 * receipt per push, a page commitment per history page, a presence promise per presence answer that
 * holds an id. The digest is computed directly
 * (keccak256, the domain separator once) and signed with libsecp256k1 (native where it loads):
 * RFC 6979, low `s`, `v` = 27 + recovery, the contract's rules.
 */
export class EvidenceSigner {
  /** The evidence signer's address (what the registry must name for the operator). */
  readonly address: Address;
  readonly operator: Address;
  readonly domain: EvidenceDomain;
  readonly #key: Uint8Array;
  readonly #operator: Uint8Array;
  readonly #digester: EvidenceDigester;
  readonly #lib: Secp256k1;

  constructor(init: { privateKey: Hex; operator: Address; domain: EvidenceDomain; lib?: Secp256k1 }) {
    this.address = privateKeyToAddress(init.privateKey);
    this.operator = init.operator;
    this.domain = init.domain;
    this.#key = hexToBytes(init.privateKey);
    this.#operator = hexToBytes(init.operator);
    this.#digester = evidenceDigester(init.domain);
    this.#lib = init.lib ?? secp256k1();
  }

  /** Which libsecp256k1 build signs ("libsecp256k1 (native)" or WebAssembly). */
  get backend(): string {
    return this.#lib.name;
  }

  /** The 65-byte signature of the operator's {@link ReceiptInput} with these fields. */
  receipt(fields: Omit<ReceiptInput, "operator">): Uint8Array {
    return this.#sign(this.#digester.receipt({ ...fields, operator: this.#operator }));
  }

  /** The 65-byte signature of the operator's {@link PageCommitmentInput} with these fields. */
  page(fields: Omit<PageCommitmentInput, "operator">): Uint8Array {
    return this.#sign(this.#digester.pageCommitment({ ...fields, operator: this.#operator }));
  }

  /** The 65-byte signature of the operator's {@link PresenceInput} with these fields. */
  presence(fields: Omit<PresenceInput, "operator">): Uint8Array {
    return this.#sign(this.#digester.presence({ ...fields, operator: this.#operator }));
  }

  #sign(digest: Uint8Array): Uint8Array {
    const { signature, recovery } = this.#lib.sign(digest, this.#key);
    return evidenceSignature(signature, recovery);
  }
}
