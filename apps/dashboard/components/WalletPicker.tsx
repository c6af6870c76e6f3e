"use client";

import { useEffect, useMemo, useState } from "react";
import { useConnect, useConnection, useDisconnect } from "wagmi";
import { useRegistryEntries } from "../lib/chain";
import { WALLET_ACCOUNTS } from "../lib/env";
import { explainError, NO_WALLET_MESSAGE } from "../lib/errors";
import { shortAddress } from "../lib/format";
import { metadataOf, useMailboxes } from "../lib/prober";
import { devnetLabel, devnetRole } from "../lib/wallets";

/** Whether the page has an injected (browser extension) wallet; known only after mounting. */
function useInjectedWallet(): boolean | undefined {
  const [found, setFound] = useState<boolean | undefined>(undefined);
  useEffect(() => setFound(typeof window !== "undefined" && "ethereum" in window && !!window.ethereum), []);
  return found;
}

declare global {
  interface Window {
    ethereum?: unknown;
  }
}

/**
 * Connects an injected wallet or, on the devnet, one of its funded accounts, each labelled with
 * what it is used for (a mailbox's operator, the CLI user, the prober) or "free".
 */
export function WalletPicker() {
  const { address, connector, isConnected } = useConnection();
  const { connectors, connect, isPending, error, reset } = useConnect();
  const { disconnect } = useDisconnect();
  const entries = useRegistryEntries();
  const mailboxes = useMailboxes();
  const injected = useInjectedWallet();
  const [noWallet, setNoWallet] = useState(false);

  const names = useMemo(() => {
    const map = new Map<string, string>();
    for (const m of mailboxes.data?.mailboxes ?? []) {
      const name = metadataOf(m)?.name;
      if (name) map.set(m.address.toLowerCase(), name);
    }
    return map;
  }, [mailboxes.data]);
  const account = (id: string | undefined) => WALLET_ACCOUNTS.find((a) => `devnet-${a.index}` === id);
  const label = (c: { id: string; name: string; type: string }) => {
    const devnet = account(c.id);
    if (devnet) return devnetLabel(devnet, entries.data, names);
    if (c.id === "injected") return injected === false ? "Browser wallet (none found)" : "Browser wallet";
    return c.name;
  };

  if (isConnected && address) {
    const devnet = account(connector?.id);
    return (
      <div className="wallet">
        <span title={address} data-testid="account">
          {connector?.name}: {shortAddress(address)}
          {devnet ? <span className="muted"> · {devnetRole(devnet, entries.data, names)}</span> : null}
        </span>
        <button type="button" onClick={() => disconnect()}>
          Disconnect
        </button>
      </div>
    );
  }
  const message = noWallet ? NO_WALLET_MESSAGE : error ? explainError(error) : undefined;
  return (
    <div className="wallet">
      <select
        aria-label="Wallet"
        value=""
        disabled={isPending}
        aria-describedby={message ? "wallet-error" : undefined}
        onChange={(e) => {
          const c = connectors.find((x) => x.id === e.target.value);
          reset();
          setNoWallet(false);
          if (!c) return;
          // Without a browser wallet the injected connector can only fail: say so at once.
          if (c.id === "injected" && injected === false) setNoWallet(true);
          else connect({ connector: c });
        }}
      >
        <option value="" disabled>
          Connect a wallet…
        </option>
        {connectors.map((c) => (
          <option key={c.uid} value={c.id}>
            {label(c)}
          </option>
        ))}
      </select>
      {message ? (
        <span id="wallet-error" className="poor" role="alert">
          {message}
        </span>
      ) : null}
    </div>
  );
}
