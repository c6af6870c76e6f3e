"use client";

import { sntAbi } from "@postbox/contracts";
import { formatSnt } from "@postbox/protocol";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Abi, Address, Hex } from "viem";
import { useConnection, usePublicClient, useWriteContract } from "wagmi";
import { TxLink } from "../components/TxLink";
import { settings } from "./env";
import { contractErrorsAbi, explainError, PreflightError } from "./errors";

type WriteRequest = Parameters<ReturnType<typeof useWriteContract>["writeContractAsync"]>[0];

/** What a transaction needs besides gas: SNT it pays in through approveAndCall, to `spender`. */
export interface Needs {
  snt?: bigint;
  spender?: Address;
}

export interface TxState {
  /** Which action (form) the status belongs to: each form shows only its own. */
  scope: string;
  busy: boolean;
  message: string;
  error: boolean;
  hash?: Hex;
}

const IDLE: TxState = { scope: "", busy: false, message: "", error: false };

/**
 * Sends transactions for one page, one at a time, and keeps the status line of the last one:
 * a new action replaces the previous action's line. Before asking the wallet it checks what the
 * transaction needs (SNT balance, a leftover approval, gas) and simulates the call, so a
 * transaction that would revert is never sent: the reason is shown in words instead.
 * Refreshes every query afterwards (chain reads and prober figures).
 */
export function useTransaction() {
  const { writeContractAsync } = useWriteContract();
  const client = usePublicClient();
  const { address } = useConnection();
  const queries = useQueryClient();
  const [status, setStatus] = useState<TxState>(IDLE);

  const step = (scope: string, message: string, hash?: Hex) =>
    setStatus({ scope, busy: true, message, error: false, ...(hash ? { hash } : {}) });

  /** Sends one call after checking `needs`; resolves true once it is in a successful block. */
  const send = async (scope: string, label: string, request: WriteRequest, needs: Needs = {}) => {
    step(scope, `${label}: checking…`);
    try {
      if (!client || !address) throw new PreflightError("Connect a wallet first (top right).");
      const gas = await client.getBalance({ address });
      if (gas === 0n) throw new PreflightError("This account has no ETH to pay for gas.");
      if (needs.snt !== undefined) {
        const balance = await client.readContract({
          address: settings.snt,
          abi: sntAbi,
          functionName: "balanceOf",
          args: [address],
        });
        if (balance < needs.snt)
          throw new PreflightError(
            `Not enough SNT: this needs ${formatSnt(needs.snt)} and the wallet holds ${formatSnt(balance)} (${formatSnt(needs.snt - balance)} missing).`,
          );
      }
      if (needs.spender) {
        // SNT changes an approval only to or from 0 (MiniMe's rule), and approveAndCall approves
        // first: an approval left over from elsewhere would make it revert. Reset it, saying why.
        const allowance = await client.readContract({
          address: settings.snt,
          abi: sntAbi,
          functionName: "allowance",
          args: [address, needs.spender],
        });
        if (allowance !== 0n) {
          step(
            scope,
            `${label}: an earlier approval of ${formatSnt(allowance)} must be reset to 0 first (SNT's rule)…`,
          );
          await confirm(scope, `${label}: resetting the earlier approval`, {
            address: settings.snt,
            abi: sntAbi,
            functionName: "approve",
            args: [needs.spender, 0n],
          });
        }
      }
      const receipt = await confirm(scope, label, request);
      setStatus({
        scope,
        busy: false,
        message: `${label}: done in block ${receipt.blockNumber}.`,
        error: false,
        hash: receipt.transactionHash,
      });
      await queries.invalidateQueries();
      return true;
    } catch (err) {
      setStatus({ scope, busy: false, message: `${label}: ${explainError(err)}`, error: true });
      return false;
    }
  };

  /** Simulates, sends and waits for one call. */
  const confirm = async (scope: string, label: string, request: WriteRequest) => {
    // Simulated against every contract's errors: approveAndCall's revert comes from the registry
    // or the channels, whose errors SNT's ABI does not have.
    await client!.simulateContract({
      ...(request as object),
      abi: [...(request.abi as Abi), ...contractErrorsAbi],
      account: address!,
    } as unknown as Parameters<NonNullable<typeof client>["simulateContract"]>[0]);
    step(scope, `${label}: waiting for the wallet…`);
    const hash: Hex = await writeContractAsync(request);
    step(scope, `${label}: sent, waiting for the block…`, hash);
    const receipt = await client!.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw new PreflightError(`The transaction reverted in block ${receipt.blockNumber}.`);
    return receipt;
  };

  const clear = () => setStatus(IDLE);
  return { send, status, clear };
}

/** The status line of one action, shown next to the form that started it. */
export function TxStatus({ status, scope }: { status: TxState; scope: string }) {
  if (!status.message || status.scope !== scope) return null;
  return (
    <p className={status.error ? "error" : "notice"} role="status" data-testid={`status-${scope}`}>
      {status.message}
      {status.hash ? (
        <>
          {" "}
          <TxLink hash={status.hash}>View the transaction</TxLink>
        </>
      ) : null}
    </p>
  );
}
