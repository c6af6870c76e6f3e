"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Hex } from "viem";
import { usePublicClient, useWriteContract } from "wagmi";

/**
 * Sends a transaction and waits for its receipt, with a status line for the UI; refreshes every
 * query afterwards (chain reads and prober figures).
 */
export function useTransaction() {
  const { writeContractAsync } = useWriteContract();
  const client = usePublicClient();
  const queries = useQueryClient();
  const [status, setStatus] = useState<{ busy: boolean; message: string; error: boolean }>({
    busy: false,
    message: "",
    error: false,
  });
  const send = async (label: string, request: Parameters<typeof writeContractAsync>[0]) => {
    setStatus({ busy: true, message: `${label}: waiting for the wallet…`, error: false });
    try {
      const hash: Hex = await writeContractAsync(request);
      setStatus({
        busy: true,
        message: `${label}: sent ${hash.slice(0, 10)}…, waiting for the block…`,
        error: false,
      });
      const receipt = await client!.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`reverted (${hash})`);
      setStatus({ busy: false, message: `${label}: done (block ${receipt.blockNumber})`, error: false });
      await queries.invalidateQueries();
      return true;
    } catch (err) {
      const e = err as { shortMessage?: string; message: string };
      setStatus({
        busy: false,
        message: `${label}: ${e.shortMessage ?? e.message.split("\n")[0]}`,
        error: true,
      });
      return false;
    }
  };
  return { send, status };
}

export function TxStatus({ status }: { status: { message: string; error: boolean } }) {
  if (!status.message) return null;
  return (
    <p className={status.error ? "error" : "notice"} role="status">
      {status.message}
    </p>
  );
}
