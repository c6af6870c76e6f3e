import { type Address, getAddress, numberToHex } from "viem";
import { createConfig, createConnector, http } from "wagmi";
import { injected } from "wagmi/connectors";
import { chain, settings, WALLET_ACCOUNTS } from "./env";

/**
 * A devnet account as a wallet: transactions go to the local chain's `eth_sendTransaction`, which
 * Hardhat signs for its unlocked development accounts. Only offered on chain 31337.
 */
function devnetAccount(number: number, address: Address) {
  // Remembered across reloads (like an injected wallet's permission), per browser.
  const key = `postbox.devnet.${number}`;
  const remembered = () => typeof localStorage !== "undefined" && localStorage.getItem(key) === "1";
  let connected = false;
  return createConnector((config) => ({
    id: `devnet-${number}`,
    name: `Devnet account #${number}`,
    type: "devnet",
    async connect<withCapabilities extends boolean = false>() {
      connected = true;
      if (typeof localStorage !== "undefined") localStorage.setItem(key, "1");
      return { accounts: [address] as never, chainId: chain.id } as {
        accounts: withCapabilities extends true ? never : readonly Address[];
        chainId: number;
      };
    },
    async disconnect() {
      connected = false;
      if (typeof localStorage !== "undefined") localStorage.removeItem(key);
    },
    async getAccounts() {
      return connected || remembered() ? [address] : [];
    },
    async getChainId() {
      return chain.id;
    },
    async isAuthorized() {
      return connected || remembered();
    },
    async getProvider() {
      return {
        request: async ({ method, params }: { method: string; params?: unknown[] }) => {
          if (method === "eth_accounts" || method === "eth_requestAccounts") return [address];
          if (method === "eth_chainId") return numberToHex(chain.id);
          const res = await fetch(settings.rpcUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params ?? [] }),
          });
          const body = (await res.json()) as {
            result?: unknown;
            error?: { code: number; message: string; data?: unknown };
          };
          // An EIP-1193 provider error, with the node's code and revert data kept: viem decodes a
          // revert from them (a bare Error would read "An unknown RPC error occurred").
          if (body.error) throw Object.assign(new Error(body.error.message), body.error);
          return body.result;
        },
      };
    },
    onAccountsChanged(accounts: string[]) {
      config.emitter.emit("change", { accounts: accounts.map((a) => getAddress(a)) });
    },
    onChainChanged() {},
    onDisconnect() {
      config.emitter.emit("disconnect");
    },
  }));
}

export const wagmiConfig = createConfig({
  chains: [chain],
  connectors: [
    injected(),
    ...(settings.devnet ? WALLET_ACCOUNTS.map((a) => devnetAccount(a.index, a.address)) : []),
  ],
  transports: { [chain.id]: http(settings.rpcUrl) },
  ssr: true,
});
