import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  type ChannelManager,
  createChannelManager,
  createPostboxClient,
  type PostboxClient,
  type StaticMailbox,
} from "@postbox/client";
import { addressesFor, createPostboxClients } from "@postbox/contracts";
import { AmountError, ConfigError, type ParseSntOptions, parseSnt } from "@postbox/protocol";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

/** Flags every client command shares (each with its environment variable). */
export const CLIENT_OPTIONS = {
  "data-dir": { type: "string" },
  "rpc-url": { type: "string" },
  "chain-id": { type: "string" },
  snt: { type: "string" },
  registry: { type: "string" },
  channels: { type: "string" },
  "wallet-key-file": { type: "string" },
  prober: { type: "string" },
  mailbox: { type: "string", multiple: true },
  k: { type: "string" },
  deposit: { type: "string" },
  "max-page-cost": { type: "string" },
  "spending-cap": { type: "string" },
  "credit-pages": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export const CLIENT_HELP = `Client options (or environment variables):
  --data-dir DIR        the client's folder: identity, contacts, messages, channels
                        (default ~/.postbox/client; POSTBOX_CLIENT_DIR)
  --rpc-url URL         the chain's JSON-RPC endpoint (POSTBOX_RPC_URL; default http://127.0.0.1:8545)
  --chain-id ID         (POSTBOX_CHAIN_ID; default 31337, the local devnet)
  --snt, --registry, --channels ADDRESS
                        contract addresses (POSTBOX_SNT, POSTBOX_REGISTRY, POSTBOX_CHANNELS;
                        default: the known deployment of the chain)
  --wallet-key-file F   a file with the paying wallet's 0x private key (or POSTBOX_WALLET_KEY)
  --prober URL          a prober whose figures feed mailbox scores (POSTBOX_PROBER_URL)
  --mailbox MULTIADDR   also use this mailbox (repeat; POSTBOX_MAILBOXES, comma-separated)
  --k N                 use N mailboxes at once (POSTBOX_K; default 1)
  --deposit SNT         deposit of a channel opened on first use (POSTBOX_CHANNEL_DEPOSIT)
  --max-page-cost SNT   never pay more for a 100-message page (POSTBOX_MAX_PAGE_COST)
  --spending-cap SNT    never let one channel authorise more in all (POSTBOX_SPENDING_CAP)
  --credit-pages N      let a voucher pay up to N pages ahead, 1 to 1000 (POSTBOX_CREDIT_PAGES;
                        default 8; 1 signs a voucher for every page)
  --json                print JSON
  -h, --help            this help`;

export type ClientValues = Partial<
  Record<keyof typeof CLIENT_OPTIONS, string | boolean | string[] | undefined>
>;

function getter(values: ClientValues) {
  return (flag: keyof typeof CLIENT_OPTIONS, env: string): string | undefined =>
    (values[flag] as string | undefined) ?? process.env[env];
}

/** An SNT amount typed by the user (`parseSnt`): a refusal is a ConfigError naming the setting. */
export function parseAmount(flag: string, v: string, options: ParseSntOptions = {}): bigint {
  try {
    return parseSnt(v, options);
  } catch (err) {
    if (err instanceof AmountError) throw new ConfigError(flag, `"${v}": ${err.message}`);
    throw err;
  }
}

function amount(flag: string, v: string | undefined): bigint | undefined {
  return v === undefined ? undefined : parseAmount(flag, v);
}

/** The chain a client command talks to, with the contracts' addresses. */
export interface ChainContext {
  chainId: number;
  publicClient: PublicClient;
  wallet: WalletClient<Transport, Chain, Account> | undefined;
  snt: Address;
  registry: Address;
  channels: Address;
  dataDir: string;
}

export function chainContext(values: ClientValues, options: { requireWallet: boolean }): ChainContext {
  const get = getter(values);
  const rpcUrl = get("rpc-url", "POSTBOX_RPC_URL") ?? "http://127.0.0.1:8545";
  const chainId = Number(get("chain-id", "POSTBOX_CHAIN_ID") ?? 31337);
  if (!Number.isInteger(chainId) || chainId <= 0)
    throw new ConfigError("chain-id", "must be a positive integer");
  const known = addressesFor(chainId);
  const addr = (flag: "snt" | "registry" | "channels", name: string) => {
    const v = get(flag, name) ?? known?.[flag];
    if (!v || !/^0x[0-9a-fA-F]{40}$/.test(v))
      throw new ConfigError(flag, `required: an address (--${flag} or ${name})`);
    return v as Address;
  };
  let key = process.env.POSTBOX_WALLET_KEY;
  const keyFile = values["wallet-key-file"] as string | undefined;
  if (keyFile) {
    try {
      key = readFileSync(keyFile, "utf8").trim();
    } catch (e) {
      throw new ConfigError(
        "wallet-key-file",
        `cannot read ${keyFile} (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  }
  if (key !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new ConfigError("wallet-key", "must be a 0x-prefixed 32-byte private key");
  if (options.requireWallet && !key)
    throw new ConfigError("wallet-key", "required: --wallet-key-file or POSTBOX_WALLET_KEY");
  const { publicClient, walletClient: wallet } = createPostboxClients({
    rpcUrl,
    chainId,
    ...(key ? { privateKey: key as Hex } : {}),
  });
  return {
    chainId,
    publicClient,
    wallet,
    snt: addr("snt", "POSTBOX_SNT"),
    registry: addr("registry", "POSTBOX_REGISTRY"),
    channels: addr("channels", "POSTBOX_CHANNELS"),
    dataDir: get("data-dir", "POSTBOX_CLIENT_DIR") ?? join(homedir(), ".postbox", "client"),
  };
}

/** The channel manager of the client's data folder (needs a wallet); close it when done. */
export function channelManager(
  ctx: ChainContext,
  limits: {
    maxPageCost?: bigint | undefined;
    spendingCap?: bigint | undefined;
    creditPages?: number | undefined;
  } = {},
): Promise<ChannelManager> {
  if (!ctx.wallet) throw new ConfigError("wallet-key", "required: --wallet-key-file or POSTBOX_WALLET_KEY");
  return createChannelManager({
    location: ctx.dataDir,
    publicClient: ctx.publicClient,
    wallet: ctx.wallet,
    chainId: ctx.chainId,
    snt: ctx.snt,
    registry: ctx.registry,
    channels: ctx.channels,
    maxPageCost: limits.maxPageCost,
    spendingCap: limits.spendingCap,
    creditPages: limits.creditPages,
  });
}

/**
 * What the user allows to be paid: the cap per 100-message page, the cap on what one channel may
 * authorise in all, how many pages a voucher may pay ahead, and a new channel's deposit.
 */
export function paymentSettings(values: ClientValues): {
  maxPageCost: bigint | undefined;
  spendingCap: bigint | undefined;
  creditPages: number | undefined;
  deposit: bigint | undefined;
} {
  const get = getter(values);
  const pages = get("credit-pages", "POSTBOX_CREDIT_PAGES");
  if (pages !== undefined && !/^\d+$/.test(pages.trim()))
    throw new ConfigError("credit-pages", `"${pages}": must be a whole number from 1 to 1000`);
  const creditPages = pages === undefined ? undefined : Number(pages);
  if (creditPages !== undefined && (creditPages < 1 || creditPages > 1000))
    throw new ConfigError("credit-pages", `"${pages}": must be a whole number from 1 to 1000`);
  return {
    maxPageCost: amount("max-page-cost", get("max-page-cost", "POSTBOX_MAX_PAGE_COST")),
    spendingCap: amount("spending-cap", get("spending-cap", "POSTBOX_SPENDING_CAP")),
    creditPages,
    deposit: amount("deposit", get("deposit", "POSTBOX_CHANNEL_DEPOSIT")),
  };
}

/** A PostboxClient configured from flags and environment; {@link closeClient} when done. */
export async function openClient(values: ClientValues): Promise<PostboxClient> {
  const get = getter(values);
  const ctx = chainContext(values, { requireWallet: false });
  const { maxPageCost, spendingCap, creditPages, deposit } = paymentSettings(values);
  const k = Number(get("k", "POSTBOX_K") ?? 1);
  if (!Number.isInteger(k) || k < 1 || k > 8) throw new ConfigError("k", "must be an integer from 1 to 8");
  const listed = (values.mailbox as string[] | undefined) ?? process.env.POSTBOX_MAILBOXES?.split(",") ?? [];
  const mailboxes: StaticMailbox[] = listed
    .map((m) => m.trim())
    .filter(Boolean)
    .map((m) => {
      if (!m.includes("/p2p/")) throw new ConfigError("mailbox", `needs /p2p/<peer id>: ${m}`);
      return { multiaddr: m };
    });
  const channels = ctx.wallet
    ? await channelManager(ctx, { maxPageCost, spendingCap, creditPages })
    : undefined;
  return createPostboxClient({
    location: ctx.dataDir,
    chain: { publicClient: ctx.publicClient, registry: ctx.registry },
    channels,
    channelDeposit: deposit,
    mailboxes,
    proberUrl: get("prober", "POSTBOX_PROBER_URL"),
    maxPageCost,
    k,
  });
}

/** Stops a client from {@link openClient} and closes its channel records (writing what is pending). */
export async function closeClient(client: PostboxClient): Promise<void> {
  try {
    await client.stop();
  } finally {
    await client.channels?.close();
  }
}
