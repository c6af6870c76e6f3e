import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { mailboxRegistryAbi, sntAbi } from "@postbox/contracts";
import {
  type ChainConfig,
  ConfigError,
  loadOrCreatePeerKey,
  loadSettings,
  PEER_KEY_FILE,
} from "@postbox/node";
import { AmountError, formatDuration, formatSnt, parseSnt } from "@postbox/protocol";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  type Hex,
  http,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type Output, UsageError } from "../output.js";
import { type SettingValues, settingOptions, settingSources } from "./node-settings.js";

const COMMON = `Chain options: flags, POSTBOX_* environment variables (the node's) or --config FILE
(a JSON file with a "chain" object, as node start reads); flags override the environment, which
overrides the file:
  --rpc-url URL           the chain's JSON-RPC endpoint (POSTBOX_RPC_URL; chain.rpcUrl)
  --chain-id ID           the chain id it must serve (POSTBOX_CHAIN_ID; chain.chainId)
  --registry ADDRESS      the MailboxRegistry (POSTBOX_REGISTRY; chain.registry)
  --operator-key-file F   a file with the operator's 0x private key (or POSTBOX_OPERATOR_KEY)
  --config FILE           a JSON settings file
  --json                  print JSON (amounts also exactly, in base units: stakeWei, …)
  -h, --help              this help`;

export const OPERATOR_HELP: Record<string, string> = {
  register: `Usage: postbox node register --multiaddr ADDR [--multiaddr ADDR…] [options]

Lists this mailbox in the MailboxRegistry in one transaction (SNT approveAndCall): its peer id
(from the data folder's peer.key: create it with postbox node init), where to dial it, its prices
and retention, with a stake.

Options:
  --data-dir DIR            the mailbox's data folder (default ~/.postbox/node; POSTBOX_DATA_DIR)
  --multiaddr ADDR          a public address of the mailbox, without /p2p/ (repeat; at most 8;
                            postbox node init prints them)
  --stake SNT               stake to lock (default: the registry's minimum)
  --price-per-query SNT     price of one history page (default 0.01)
  --price-per-message SNT   price per envelope returned (default 0.0001)
  --retention DURATION      how long envelopes are kept: the node's retention setting (POSTBOX_RETENTION,
                            retention.maxAge in --config; default 30d), so list what the node keeps
  --metadata-uri URI        optional name, contact and terms
${COMMON}`,
  "set-price": `Usage: postbox node set-price --price-per-query SNT --price-per-message SNT [options]

Announces new prices. Decreases apply at once; increases after the registry's price delay (the
countdown is printed), so clients with open channels are never surprised.

${COMMON}`,
  exit: `Usage: postbox node exit [options]

Starts leaving the registry: the mailbox stops being listed as active and its stake unbonds; it
can be withdrawn after the unbonding period (printed).

${COMMON}`,
  withdraw: `Usage: postbox node withdraw [options]

Withdraws the stake once the unbonding period after \`postbox node exit\` has passed.

${COMMON}`,
};

const STATUS = ["none", "active", "exiting", "jailed"];

/** The chain settings the operator's commands use (not the channels: only the running node does). */
const OPERATOR_CHAIN = ["rpcUrl", "chainId", "registry", "operatorKey"] as const;

/** Amounts exactly as the chain holds them (trailing zeros dropped). */
const EXACT = { digits: 18 } as const;

function operatorOptions() {
  return {
    ...settingOptions("config", "rpc-url", "chain-id", "registry", "operator-key-file"),
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  } as const;
}

function connect(settings: Pick<ChainConfig, (typeof OPERATOR_CHAIN)[number]>) {
  const { rpcUrl, chainId, operatorKey } = settings;
  const registry = settings.registry as Address;
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const account = privateKeyToAccount(operatorKey as Hex);
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl) });
  const wallet = createWalletClient({ chain, account, transport: http(rpcUrl) });
  const send = async (to: Address, data: Hex) => {
    const hash = await wallet.sendTransaction({ to, data });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return hash;
  };
  const entry = () =>
    publicClient.readContract({
      address: registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailbox",
      args: [account.address],
    });
  return { publicClient, account, registry, send, entry };
}

/** The chain of an operator's command, from its flags, the environment and --config. */
function operatorChain(values: SettingValues) {
  return connect(loadSettings(settingSources(values), { chain: OPERATOR_CHAIN }).chain);
}

function amount(flag: string, v: string | undefined, fallback: bigint): bigint {
  if (v === undefined) return fallback;
  try {
    return parseSnt(v);
  } catch (e) {
    if (e instanceof AmountError) throw new ConfigError(flag, (e as AmountError).shortMessage);
    throw e;
  }
}

/** "in 1 min 0 s (at 2030-01-01T00:00:00.000Z)" for a chain time `at` seen at chain time `now`. */
function countdown(at: bigint, now: bigint): string {
  const iso = new Date(Number(at) * 1000).toISOString();
  return at > now ? `in ${formatDuration(Number(at - now))} (at ${iso})` : `now (since ${iso})`;
}

/**
 * Prints `view` as text lines, or as JSON with `exact` added: amounts in base units and times in
 * seconds, for programs.
 */
function report(
  io: Output,
  json: boolean | undefined,
  view: Record<string, string | number>,
  exact: Record<string, string | number> = {},
) {
  if (json) io.out(JSON.stringify({ ...view, ...exact }));
  else for (const [k, v] of Object.entries(view)) io.out(`${k.padEnd(16)} ${v}`);
}

export async function nodeRegister(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...operatorOptions(),
      ...settingOptions("data-dir"),
      ...settingOptions("retention"),
      multiaddr: { type: "string", multiple: true },
      stake: { type: "string" },
      "price-per-query": { type: "string" },
      "price-per-message": { type: "string" },
      "metadata-uri": { type: "string" },
    },
  });
  if (values.help) {
    io.out(OPERATOR_HELP.register!);
    return 0;
  }
  if (!values.multiaddr?.length) throw new UsageError("at least one --multiaddr is required");
  for (const a of values.multiaddr) {
    try {
      multiaddr(a);
    } catch {
      throw new ConfigError("multiaddr", `not a multiaddr: ${a}`);
    }
    if (/^\/ip4\/0\.0\.0\.0\/|^\/ip6\/::\//.test(a))
      throw new ConfigError(
        "multiaddr",
        `${a} means "every interface" and cannot be dialled: register the public address clients reach the mailbox at (postbox node init prints them)`,
      );
  }
  // The peer key, the retention it promises (the node's own setting, so that the registry lists
  // what the mailbox keeps) and the chain, from one set of layers.
  const { dataDir, retention, chain } = loadSettings(settingSources(values), {
    settings: ["dataDir", "retention"],
    chain: OPERATOR_CHAIN,
  });
  if (!existsSync(join(dataDir, PEER_KEY_FILE)))
    throw new UsageError(
      `no mailbox key in ${dataDir} (no ${PEER_KEY_FILE}): create it first with postbox node init --data-dir ${dataDir}`,
    );
  const c = connect(chain);
  const { key } = await loadOrCreatePeerKey(dataDir);
  const peerId = peerIdFromPrivateKey(key).toString();
  const [token, minStake] = await Promise.all([
    c.publicClient.readContract({ address: c.registry, abi: mailboxRegistryAbi, functionName: "token" }),
    c.publicClient.readContract({ address: c.registry, abi: mailboxRegistryAbi, functionName: "minStake" }),
  ]);
  const stake = amount("stake", values.stake, minStake);
  if (stake < minStake)
    throw new ConfigError("stake", `the registry's minimum stake is ${formatSnt(minStake, EXACT)}`);
  const call = encodeFunctionData({
    abi: mailboxRegistryAbi,
    functionName: "register",
    args: [
      peerId,
      values.multiaddr,
      values["metadata-uri"] ?? "",
      0n,
      amount("price-per-query", values["price-per-query"], parseSnt("0.01")),
      amount("price-per-message", values["price-per-message"], parseSnt("0.0001")),
      BigInt(retention.maxAge),
    ],
  });
  const tx = await c.send(
    token,
    encodeFunctionData({ abi: sntAbi, functionName: "approveAndCall", args: [c.registry, stake, call] }),
  );
  const m = await c.entry();
  report(
    io,
    values.json,
    {
      operator: c.account.address,
      peerId,
      status: STATUS[m.status] ?? String(m.status),
      stake: formatSnt(m.stake, EXACT),
      pricePerQuery: formatSnt(m.pricePerQuery, EXACT),
      pricePerMessage: formatSnt(m.pricePerMessage, EXACT),
      tx,
    },
    {
      stakeWei: m.stake.toString(),
      pricePerQueryWei: m.pricePerQuery.toString(),
      pricePerMessageWei: m.pricePerMessage.toString(),
    },
  );
  return 0;
}

export async function nodeSetPrice(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...operatorOptions(),
      "price-per-query": { type: "string" },
      "price-per-message": { type: "string" },
    },
  });
  if (values.help) {
    io.out(OPERATOR_HELP["set-price"]!);
    return 0;
  }
  if (!values["price-per-query"] || !values["price-per-message"]) {
    throw new UsageError("--price-per-query and --price-per-message are both required");
  }
  const perQuery = amount("price-per-query", values["price-per-query"], 0n);
  const perMessage = amount("price-per-message", values["price-per-message"], 0n);
  const c = operatorChain(values);
  const tx = await c.send(
    c.registry,
    encodeFunctionData({
      abi: mailboxRegistryAbi,
      functionName: "announcePrice",
      args: [perQuery, perMessage],
    }),
  );
  const m = await c.entry();
  const now = (await c.publicClient.getBlock()).timestamp;
  const pending = m.priceEffectiveAt > 0n;
  report(
    io,
    values.json,
    {
      pricePerQuery: `${formatSnt(m.pricePerQuery, EXACT)} (now)`,
      pricePerMessage: `${formatSnt(m.pricePerMessage, EXACT)} (now)`,
      ...(pending
        ? {
            pending: `${formatSnt(m.pendingPricePerQuery, EXACT)} per query + ${formatSnt(m.pendingPricePerMessage, EXACT)} per message`,
            effective: countdown(m.priceEffectiveAt, now),
          }
        : {}),
      tx,
    },
    {
      pricePerQueryWei: m.pricePerQuery.toString(),
      pricePerMessageWei: m.pricePerMessage.toString(),
      ...(pending
        ? {
            pendingPricePerQueryWei: m.pendingPricePerQuery.toString(),
            pendingPricePerMessageWei: m.pendingPricePerMessage.toString(),
            effectiveInSeconds: Number(m.priceEffectiveAt - now),
          }
        : {}),
    },
  );
  return 0;
}

export async function nodeExit(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: operatorOptions() });
  if (values.help) {
    io.out(OPERATOR_HELP.exit!);
    return 0;
  }
  const c = operatorChain(values);
  const tx = await c.send(
    c.registry,
    encodeFunctionData({ abi: mailboxRegistryAbi, functionName: "requestExit" }),
  );
  const m = await c.entry();
  const now = (await c.publicClient.getBlock()).timestamp;
  report(
    io,
    values.json,
    {
      status: STATUS[m.status] ?? String(m.status),
      stake: formatSnt(m.stake, EXACT),
      withdrawable: countdown(m.withdrawableAt, now),
      tx,
    },
    { stakeWei: m.stake.toString(), withdrawableInSeconds: Number(m.withdrawableAt - now) },
  );
  return 0;
}

export async function nodeWithdraw(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: operatorOptions() });
  if (values.help) {
    io.out(OPERATOR_HELP.withdraw!);
    return 0;
  }
  const c = operatorChain(values);
  const before = await c.entry();
  const now = (await c.publicClient.getBlock()).timestamp;
  if (before.status === 2 && before.withdrawableAt > now) {
    throw new UsageError(`the stake unbonds: it can be withdrawn ${countdown(before.withdrawableAt, now)}`);
  }
  const tx = await c.send(
    c.registry,
    encodeFunctionData({ abi: mailboxRegistryAbi, functionName: "withdrawStake" }),
  );
  report(
    io,
    values.json,
    { withdrawn: formatSnt(before.stake, EXACT), tx },
    { withdrawnWei: before.stake.toString() },
  );
  return 0;
}
