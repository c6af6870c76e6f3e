"use client";

import { useConnect, useConnection, useDisconnect } from "wagmi";
import { shortAddress } from "../lib/format";

/** Connects an injected wallet or, on the devnet, one of its funded accounts. */
export function WalletPicker() {
  const { address, connector, isConnected } = useConnection();
  const { connectors, connect, isPending, error } = useConnect();
  const { disconnect } = useDisconnect();
  if (isConnected && address) {
    return (
      <div className="wallet">
        <span title={address} data-testid="account">
          {connector?.name}: {shortAddress(address)}
        </span>
        <button type="button" onClick={() => disconnect()}>
          Disconnect
        </button>
      </div>
    );
  }
  return (
    <div className="wallet">
      <select
        aria-label="Wallet"
        defaultValue=""
        disabled={isPending}
        onChange={(e) => {
          const c = connectors.find((x) => x.id === e.target.value);
          if (c) connect({ connector: c });
        }}
      >
        <option value="" disabled>
          Connect a wallet…
        </option>
        {connectors.map((c) => (
          <option key={c.uid} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
      {error ? <span className="poor">{error.message.split("\n")[0]}</span> : null}
    </div>
  );
}
