import { addressesFor, DEVNET_ACCOUNTS, type DevnetAccount, postboxChain } from "@postbox/contracts";
import type { Address } from "viem";

/**
 * The settings the dashboard takes from its environment. They are read when it runs, not when it is
 * built: the server reads its own environment, and the page gets the server's values from
 * `/env.js` (`app/env.js/route.ts`, loaded before any of the page's code), so one build serves any
 * chain. A value set when the app was built is the fallback (Next.js inlines
 * `process.env.NEXT_PUBLIC_…` into the page's code).
 */
export const SETTING_NAMES = [
  "NEXT_PUBLIC_CHAIN_ID",
  "NEXT_PUBLIC_RPC_URL",
  "NEXT_PUBLIC_PROBER_URL",
  "NEXT_PUBLIC_REGISTRY",
  "NEXT_PUBLIC_CHANNELS",
  "NEXT_PUBLIC_SNT",
  "NEXT_PUBLIC_DISPUTES",
  "NEXT_PUBLIC_FROM_BLOCK",
  "NEXT_PUBLIC_EXPLORER_URL",
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

declare global {
  /** Set by `/env.js` before the page's code runs. */
  var __POSTBOX_ENV__: Partial<Record<SettingName, string>> | undefined;
}

/** The server's values of the settings (what `/env.js` serves). */
export function serverSettings(): Partial<Record<SettingName, string>> {
  const out: Partial<Record<SettingName, string>> = {};
  for (const name of SETTING_NAMES) {
    // A computed name: Next.js inlines only `process.env.NAME` written out.
    const v = process.env[name];
    if (v !== undefined && v !== "") out[name] = v;
  }
  return out;
}

function setting(name: SettingName, built: string | undefined): string | undefined {
  const now = typeof window === "undefined" ? serverSettings() : globalThis.__POSTBOX_ENV__;
  return now?.[name] ?? (built || undefined);
}

/** Chain settings from the environment (NEXT_PUBLIC_*), defaulting to `npm start`'s devnet. */
const chainId = Number(setting("NEXT_PUBLIC_CHAIN_ID", process.env.NEXT_PUBLIC_CHAIN_ID) ?? 31337);
const rpcUrl = setting("NEXT_PUBLIC_RPC_URL", process.env.NEXT_PUBLIC_RPC_URL) ?? "http://127.0.0.1:8545";
const known = addressesFor(chainId);

export const settings = {
  chainId,
  rpcUrl,
  proberUrl: setting("NEXT_PUBLIC_PROBER_URL", process.env.NEXT_PUBLIC_PROBER_URL) ?? "http://127.0.0.1:8787",
  registry: (setting("NEXT_PUBLIC_REGISTRY", process.env.NEXT_PUBLIC_REGISTRY) ?? known?.registry) as Address,
  channels: (setting("NEXT_PUBLIC_CHANNELS", process.env.NEXT_PUBLIC_CHANNELS) ?? known?.channels) as Address,
  snt: (setting("NEXT_PUBLIC_SNT", process.env.NEXT_PUBLIC_SNT) ?? known?.snt) as Address,
  /**
   * The Disputes contract (the registry's only slasher); undefined when neither set nor known: the
   * pages then ask the registry (`registry.disputes()`).
   */
  disputes: (setting("NEXT_PUBLIC_DISPUTES", process.env.NEXT_PUBLIC_DISPUTES) ?? known?.disputes) as
    | Address
    | undefined,
  fromBlock: BigInt(
    setting("NEXT_PUBLIC_FROM_BLOCK", process.env.NEXT_PUBLIC_FROM_BLOCK) ?? known?.fromBlock ?? 0n,
  ),
  /** The local devnet: offer its funded accounts as wallets. */
  devnet: chainId === 31337,
  /** A block explorer (links to `${explorerUrl}/tx/HASH`); without one, the dashboard's own /tx pages. */
  explorerUrl:
    setting("NEXT_PUBLIC_EXPLORER_URL", process.env.NEXT_PUBLIC_EXPLORER_URL)?.replace(/\/+$/, "") ||
    undefined,
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
  if (l === settings.disputes?.toLowerCase()) return "the disputes contract";
  return undefined;
}
