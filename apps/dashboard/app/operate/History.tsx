"use client";

import { mailboxRegistryAbi } from "@postbox/contracts";
import { useQuery } from "@tanstack/react-query";
import type { Address } from "viem";
import { usePublicClient } from "wagmi";
import { EventList } from "../../components/TxLink";
import { settings } from "../../lib/env";
import { operatorHistory } from "../../lib/history";

/**
 * The operator's registry history in words, newest first: registration, prices, stake, exits,
 * slashes (dispute, amount, reward, treasury share), jail terms, and the treasury changes that
 * decide where a slash goes. Refreshed every 10 s and after each transaction of the page.
 */
export function OperatorHistory({ operator }: { operator: Address }) {
  const client = usePublicClient();
  const history = useQuery({
    queryKey: ["operator-history", operator],
    enabled: !!client,
    refetchInterval: 10_000,
    queryFn: async () =>
      operatorHistory(
        await client!.getContractEvents({
          address: settings.registry,
          abi: mailboxRegistryAbi,
          fromBlock: settings.fromBlock,
          toBlock: "latest",
        }),
        operator,
      ),
  });
  return (
    <div className="card">
      <h2>History</h2>
      {history.error ? (
        <p className="error">Cannot read the registry's events: {history.error.message.split("\n")[0]}</p>
      ) : !history.data ? (
        <p className="muted">Loading…</p>
      ) : history.data.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <EventList events={history.data} testId="operator-history" />
      )}
    </div>
  );
}
