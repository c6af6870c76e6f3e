import { addressesFor, DEVNET_ACCOUNTS, type DevnetAccount, postboxChain } from "@postbox/contracts";
import type { Address } from "viem";

/** Chain settings from the environment (NEXT_PUBLIC_*), defaulting to `npm start`'s devnet. */
const chainId = Number(process.env.NEXT_PUBLIC_CHAIN_ID ?? 31337);
const rpcUrl = process.env.NEXT_PUBLIC_RPC_URL ?? "http://127.0.0.1:8545";
const known = addressesFor(chainId);

export const settings = {
  chainId,
  rpcUrl,
  proberUrl: process.env.NEXT_PUBLIC_PROBER_URL ?? "http://127.0.0.1:8787",
  registry: (process.env.NEXT_PUBLIC_REGISTRY ?? known?.registry) as Address,
  channels: (process.env.NEXT_PUBLIC_CHANNELS ?? known?.channels) as Address,
  snt: (process.env.NEXT_PUBLIC_SNT ?? known?.snt) as Address,
  fromBlock: BigInt(process.env.NEXT_PUBLIC_FROM_BLOCK ?? known?.fromBlock ?? 0n),
  /** The local devnet: offer its funded accounts as wallets. */
  devnet: chainId === 31337,
  /** A block explorer (links to `${explorerUrl}/tx/HASH`); without one, the dashboard's own /tx pages. */
  explorerUrl: process.env.NEXT_PUBLIC_EXPLORER_URL?.replace(/\/+$/, "") || undefined,
};

export const chain = postboxChain({
  chainId,
  rpcUrl,
  name: chainId === 31337 ? "Postbox devnet" : `Chain ${chainId}`,
});

/** The devnet's funded accounts #1–#7 with their roles under `npm start` (#0 deployed the contracts). */
export const WALLET_ACCOUNTS: readonly DevnetAccount[] = DEVNET_ACCOUNTS.filter((a) => a.index > 0);

/** A Postbox contract's address as a person knows it ("the mailbox registry"), else undefined. */
export function contractName(a: string): string | undefined {
  const l = a.toLowerCase();
  if (l === settings.registry?.toLowerCase()) return "the mailbox registry";
  if (l === settings.channels?.toLowerCase()) return "the payment channels contract";
  if (l === settings.snt?.toLowerCase()) return "the SNT token";
  return undefined;
}
