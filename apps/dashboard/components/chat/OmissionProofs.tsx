"use client";

import { disputesAbi, proveOmissionByPresenceRequest, proveOmissionRequest } from "@postbox/contracts";
import { hashPageCommitment } from "@postbox/protocol";
import { useQuery } from "@tanstack/react-query";
import type { Address, Hex, PublicClient } from "viem";
import { useConnection, usePublicClient } from "wagmi";
import { useChat } from "../../lib/chat/hooks";
import { proofShownIn, proofText, provedText } from "../../lib/chat/omission";
import type { ProofView } from "../../lib/chat/runtime";
import { mailboxLabel } from "../../lib/chat/words";
import { disputesAddress } from "../../lib/disputes";
import { chain, settings } from "../../lib/env";
import { explainError } from "../../lib/errors";
import { TxStatus, useTransaction } from "../../lib/tx";
import { TxLink } from "../TxLink";

/** `IDisputes.State`. */
const UPHELD = 3;

/** The call that proves an omission: by a presence answer, or by a receipt (the CLI's arguments). */
function proofRequest(disputes: Address, args: ProofView["args"]) {
  return args.kind === "presence"
    ? proveOmissionByPresenceRequest({ disputes, ...args })
    : proveOmissionRequest({ disputes, ...args });
}

interface OnChain {
  disputes: Address;
  disputeId: Hex;
  state: number;
  outcome?:
    | { slashed: bigint; reward: bigint; challenger: Address; jailedUntil: bigint; tx: Hex }
    | undefined;
}

/** What the chain says of a proof's page commitment: not used yet, or the dispute it upheld (with its event). */
async function readOnChain(client: PublicClient, proof: ProofView): Promise<OnChain | null> {
  const disputes = await disputesAddress(client);
  if (!disputes) return null;
  // The dispute's id is the commitment's EIP-712 digest (each page proves once).
  const disputeId = hashPageCommitment(
    { chainId: settings.chainId, verifyingContract: disputes },
    proof.args.commitment,
  );
  const d = (await client.readContract({
    address: disputes,
    abi: disputesAbi,
    functionName: "getDispute",
    args: [disputeId],
  })) as { state: number };
  if (d.state !== UPHELD) return { disputes, disputeId, state: d.state };
  const [e] = await client.getContractEvents({
    address: disputes,
    abi: disputesAbi,
    eventName: "DisputeUpheld",
    args: { disputeId },
    fromBlock: settings.fromBlock,
    toBlock: "latest",
  });
  const a = e?.args as
    | { slashed: bigint; reward: bigint; challenger: Address; jailedUntil: bigint }
    | undefined;
  return {
    disputes,
    disputeId,
    state: d.state,
    outcome: a && e ? { ...a, tx: e.transactionHash } : undefined,
  };
}

/**
 * The omission proofs kept for a conversation's messages, each with "Prove on-chain": simulated
 * first (a refusal is shown in words), then sent from the connected wallet on the deployment's
 * chain, and what it did (the slash, the reward) read back from the chain. Nothing is sent without
 * the click.
 */
export function OmissionProofs({ conversation }: { conversation: string }) {
  const state = useChat();
  const proofs = state.proofs.filter((p) => proofShownIn(p.conversation, conversation));
  if (proofs.length === 0) return null;
  const names = new Map(state.mailboxes.map((m) => [m.id, m.name]));
  return (
    <ul className="chat-proofs" data-testid="omission-proofs">
      {proofs.map((p) => (
        <ProofOffer key={`${p.envelopeId}-${p.operator}`} proof={p} label={mailboxLabel(p.mailbox, names)} />
      ))}
    </ul>
  );
}

function ProofOffer({ proof, label }: { proof: ProofView; label: string }) {
  const client = usePublicClient();
  const { address, chainId, status } = useConnection();
  const tx = useTransaction();
  const scope = `proof-${proof.envelopeId.slice(0, 16)}-${proof.operator}`;
  const onChain = useQuery({
    queryKey: ["omission-proof", proof.operator, proof.args.commitmentSignature],
    enabled: !!client,
    queryFn: () => readOnChain(client as PublicClient, proof),
  });
  const chainState = onChain.data;
  const upheld = chainState?.state === UPHELD;
  const used = chainState !== undefined && chainState !== null && chainState.state !== 0 && !upheld;
  const wrongChain = status === "connected" && chainId !== undefined && chainId !== chain.id;
  const prove = () => {
    if (!chainState) return;
    void tx.send(scope, "Prove on-chain", proofRequest(chainState.disputes, proof.args));
  };
  return (
    <li
      className="chat-proof"
      data-testid="omission-proof"
      data-envelope={proof.envelopeId}
      data-mailbox={proof.operator}
      data-state={upheld ? "upheld" : used ? "used" : chainState ? "kept" : "reading"}
    >
      <p>{proofText(label, proof.kind)}</p>
      <p className="muted small">
        Message {proof.envelopeId.slice(0, 16)}…: {proof.kind === "presence" ? "said held" : "receipted"} at{" "}
        {new Date(proof.heldAt).toISOString().slice(11, 19)} UTC, left out of a page served at{" "}
        {new Date(proof.servedAt).toISOString().slice(11, 19)} UTC.
      </p>
      {upheld ? (
        <p className="notice" data-testid="omission-proved">
          {chainState.outcome
            ? provedText(label, chainState.outcome, address)
            : `Proved on-chain (dispute ${chainState.disputeId.slice(0, 10)}…).`}
          {chainState.outcome ? (
            <>
              {" "}
              <TxLink hash={chainState.outcome.tx}>View the transaction</TxLink>
            </>
          ) : null}
        </p>
      ) : used ? (
        <p className="muted">This page was used in a dispute already: it proves once.</p>
      ) : (
        <div className="row">
          <button
            type="button"
            className="primary"
            data-testid="prove-omission"
            disabled={!chainState || tx.status.busy || !address || wrongChain}
            onClick={prove}
          >
            Prove on-chain
          </button>
          {!address ? (
            <span className="muted small">Connect a wallet (top right) to send the proof.</span>
          ) : wrongChain ? (
            <span className="field-error" role="alert">
              Your wallet is on chain {chainId}: switch it to {chain.name} (chain {chain.id}), where the
              mailbox is registered.
            </span>
          ) : null}
        </div>
      )}
      {onChain.error ? (
        <p className="error">Cannot read the proof's state on-chain: {explainError(onChain.error)}</p>
      ) : chainState === null ? (
        <p className="muted small">This chain has no Disputes contract: the proof cannot be sent here.</p>
      ) : null}
      <TxStatus status={tx.status} scope={scope} />
    </li>
  );
}
