"use client";

import { formatSnt } from "@postbox/protocol";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useParams } from "next/navigation";
import { formatEther, type Hex, isHash } from "viem";
import { usePublicClient } from "wagmi";
import { contractName, settings } from "../../../lib/env";
import { explainError } from "../../../lib/errors";
import { describeLog } from "../../../lib/events";
import { formatTime, shortAddress } from "../../../lib/format";

/** Where an address points, in words. */
function named(a: string | null | undefined): string {
  if (!a) return "—";
  const name = contractName(a);
  return name ? `${name} (${shortAddress(a)})` : a;
}

/**
 * A transaction on the local chain (no block explorer there): its receipt and its events in
 * words. With NEXT_PUBLIC_EXPLORER_URL set, links go to the explorer instead.
 */
export default function TransactionPage() {
  const { hash } = useParams<{ hash: string }>();
  const valid = isHash(hash);
  const client = usePublicClient();
  const tx = useQuery({
    queryKey: ["tx", hash],
    enabled: valid && !!client,
    retry: false,
    queryFn: async () => {
      const receipt = await client!.getTransactionReceipt({ hash: hash as Hex });
      const block = await client!.getBlock({ blockNumber: receipt.blockNumber });
      return { receipt, block };
    },
  });
  if (!valid)
    return <p className="error">"{hash}" is not a transaction hash (0x and 64 hexadecimal digits).</p>;
  if (tx.error)
    return (
      <p className="error">
        No receipt for this transaction on chain {settings.chainId}: {explainError(tx.error)}
      </p>
    );
  if (!tx.data) return <p className="muted">Loading…</p>;
  const { receipt, block } = tx.data;
  const events = receipt.logs.map((l) => ({ log: l, described: describeLog(l) }));
  return (
    <>
      <h1>Transaction</h1>
      <p className="address muted">{hash}</p>
      <div className="card">
        <dl className="facts" data-testid="receipt">
          <dt>Status</dt>
          <dd className={receipt.status === "success" ? "good" : "poor"} data-testid="tx-status">
            {receipt.status === "success" ? "succeeded" : "reverted"}
          </dd>
          <dt>Block</dt>
          <dd>
            {receipt.blockNumber.toString()} · {formatTime(block.timestamp)}
          </dd>
          <dt>From</dt>
          <dd className="address">{receipt.from}</dd>
          <dt>To</dt>
          <dd className="address">{named(receipt.to)}</dd>
          <dt>Gas</dt>
          <dd>
            {receipt.gasUsed.toLocaleString("en-US")} gas ·{" "}
            {formatEther(receipt.gasUsed * receipt.effectiveGasPrice)} ETH
          </dd>
        </dl>
      </div>
      <h2>Events</h2>
      {events.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ol className="events" data-testid="tx-events">
          {events.map(({ log, described }) => (
            <li key={log.logIndex}>
              <div>
                <strong>{described?.title ?? "Unknown event"}</strong>{" "}
                <span className="muted small">{named(log.address)}</span>
              </div>
              <div className="muted">{described ? described.details.join(" · ") : log.topics[0]}</div>
            </li>
          ))}
        </ol>
      )}
      <p className="muted small">
        Amounts in SNT ({formatSnt(10n ** 18n)} = 10<sup>18</sup> base units).{" "}
        <Link href="/">All mailboxes</Link>
      </p>
    </>
  );
}
