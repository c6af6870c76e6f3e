import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import {
  announcePrice,
  createPostboxClients,
  mailboxRegistryAbi,
  registerMailbox,
  requestExit,
  updateEndpoint,
  withdrawStake,
} from "@postbox/contracts";
import {
  type ChainConfig,
  ConfigError,
  loadOrCreatePeerKey,
  loadSettings,
  PEER_KEY_FILE,
} from "@postbox/node";
import { AmountError, formatDuration, formatSnt, parseSnt } from "@postbox/protocol";
import type { Address, Hex } from "viem";
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
  "set-endpoint": `Usage: postbox node set-endpoint --multiaddr ADDR [--multiaddr ADDR…] [--metadata-uri URI] [options]

Replaces, in one transaction (the registry's updateEndpoint), where clients dial this mailbox: the
list of addresses (the new one replaces the whole list) and, when given, the metadata URI (else the
registered one is kept). To be reachable from web pages, list a WebSockets-over-TLS address beside
the TCP one, e.g. /dns4/mbx.example.org/tcp/443/tls/ws (docs/operators.md, "Reachable from
browsers"). The peer id is the data folder's (its peer.key); without one, the registered peer id
is kept. Several nodes of one mailbox (one PostgreSQL, docs/operators.md, "Scaling out"): end each
node's addresses in /p2p/<its peer id> (postbox node start logs it); clients spread their queries
over the nodes and fail over among them.

Options:
  --data-dir DIR            the mailbox's data folder (default ~/.postbox/node; POSTBOX_DATA_DIR)
  --multiaddr ADDR          a public address of the mailbox (repeat; at most 8), ending in
                            /p2p/<peer id> when it reaches another node of the mailbox
  --metadata-uri URI        a new metadata URI (name, contact, terms); "" removes it
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

/** What a browser dials (WebSockets over TLS); a page on https can open nothing else off this machine. */
const BROWSER_ADDRESS = /\/(tls(\/sni\/[^/]+)?\/ws|wss)(\/|$)/;

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
  const clients = createPostboxClients({ rpcUrl, chainId, privateKey: operatorKey as Hex });
  const { publicClient } = clients;
  const wallet = clients.walletClient!;
  const { account } = wallet;
  const entry = () =>
    publicClient.readContract({
      address: registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailbox",
      args: [account.address],
    });
  return { publicClient, account, registry, entry, clients: { publicClient, walletClient: wallet } };
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
  view: Record<string, string | number | string[]>,
  exact: Record<string, string | number> = {},
) {
  if (json) io.out(JSON.stringify({ ...view, ...exact }));
  else
    for (const [k, v] of Object.entries(view))
      io.out(`${k.padEnd(16)} ${Array.isArray(v) ? v.join(`\n${" ".repeat(17)}`) : v}`);
}

type Connection = ReturnType<typeof connect>;

/**
 * Checks an endpoint's addresses before anything else, so that a refusal is one line naming the
 * flag: each a multiaddr someone can dial, without /p2p/ (the registry lists the peer id beside).
 */
function checkAddresses(multiaddrs: string[]): void {
  for (const a of multiaddrs) {
    let components: { name: string }[];
    try {
      components = multiaddr(a).getComponents();
    } catch {
      throw new ConfigError("multiaddr", `not a multiaddr: ${a}`);
    }
    if (/^\/ip4\/0\.0\.0\.0\/|^\/ip6\/::\//.test(a))
      throw new ConfigError(
        "multiaddr",
        `${a} means "every interface" and cannot be dialled: register the public address clients reach the mailbox at (postbox node init prints them)`,
      );
    // An address may end in /p2p/<peer id>: the node it reaches, when several nodes of one
    // mailbox (one PostgreSQL) share the entry; without it, the entry's peer id (this data folder's).
    const p2p = components.filter((x) => x.name === "p2p");
    if (p2p.length > 1 || (p2p.length === 1 && components.at(-1)?.name !== "p2p"))
      throw new ConfigError(
        "multiaddr",
        `${a}: /p2p/<peer id> may only end an address (the node it reaches, when several nodes serve the mailbox)`,
      );
  }
}

/**
 * The registry's own limits (read from it: addresses per entry, bytes per address and per metadata
 * URI), checked before the transaction: a refusal is one line, not a revert.
 */
async function checkLimits(c: Connection, multiaddrs: string[], metadataURI: string): Promise<void> {
  const limit = (functionName: "MAX_MULTIADDRS" | "MAX_MULTIADDR_BYTES" | "MAX_METADATA_URI_BYTES") =>
    c.publicClient.readContract({ address: c.registry, abi: mailboxRegistryAbi, functionName });
  const [maxAddresses, maxAddressBytes, maxUriBytes] = await Promise.all([
    limit("MAX_MULTIADDRS"),
    limit("MAX_MULTIADDR_BYTES"),
    limit("MAX_METADATA_URI_BYTES"),
  ]);
  if (BigInt(multiaddrs.length) > maxAddresses)
    throw new ConfigError(
      "multiaddr",
      `${multiaddrs.length} addresses given; the registry lists at most ${maxAddresses}`,
    );
  for (const a of multiaddrs)
    if (BigInt(Buffer.byteLength(a)) > maxAddressBytes)
      throw new ConfigError(
        "multiaddr",
        `${a.slice(0, 40)}… is ${Buffer.byteLength(a)} bytes; the registry takes at most ${maxAddressBytes}`,
      );
  if (BigInt(Buffer.byteLength(metadataURI)) > maxUriBytes)
    throw new ConfigError(
      "metadata-uri",
      `${Buffer.byteLength(metadataURI)} bytes; the registry takes at most ${maxUriBytes}`,
    );
}

/** Whether web pages can use a mailbox that lists these addresses, in words. */
function browsers(multiaddrs: readonly string[]): string {
  const secure = multiaddrs.filter((a) => BROWSER_ADDRESS.test(a));
  return secure.length
    ? `reachable over ${secure.join(", ")}`
    : 'not reachable: no address is WebSockets over TLS (/dns4/HOST/tcp/443/tls/ws), so web pages cannot use the mailbox (docs/operators.md, "Reachable from browsers")';
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
  checkAddresses(values.multiaddr);
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
  await checkLimits(c, values.multiaddr, values["metadata-uri"] ?? "");
  const { key } = await loadOrCreatePeerKey(dataDir);
  const peerId = peerIdFromPrivateKey(key).toString();
  const [token, minStake] = await Promise.all([
    c.publicClient.readContract({ address: c.registry, abi: mailboxRegistryAbi, functionName: "token" }),
    c.publicClient.readContract({ address: c.registry, abi: mailboxRegistryAbi, functionName: "minStake" }),
  ]);
  const stake = amount("stake", values.stake, minStake);
  if (stake < minStake)
    throw new ConfigError("stake", `the registry's minimum stake is ${formatSnt(minStake, EXACT)}`);
  const { transactionHash: tx } = await registerMailbox(c.clients, {
    snt: token,
    registry: c.registry,
    peerId,
    multiaddrs: values.multiaddr,
    metadataURI: values["metadata-uri"] ?? "",
    stake,
    pricePerQuery: amount("price-per-query", values["price-per-query"], parseSnt("0.01")),
    pricePerMessage: amount("price-per-message", values["price-per-message"], parseSnt("0.0001")),
    retentionSeconds: BigInt(retention.maxAge),
  });
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
      browsers: browsers(m.multiaddrs),
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

export async function nodeSetEndpoint(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...operatorOptions(),
      ...settingOptions("data-dir"),
      multiaddr: { type: "string", multiple: true },
      "metadata-uri": { type: "string" },
    },
  });
  if (values.help) {
    io.out(OPERATOR_HELP["set-endpoint"]!);
    return 0;
  }
  if (!values.multiaddr?.length) throw new UsageError("at least one --multiaddr is required");
  checkAddresses(values.multiaddr);
  const { dataDir, chain } = loadSettings(settingSources(values), {
    settings: ["dataDir"],
    chain: OPERATOR_CHAIN,
  });
  const c = connect(chain);
  const before = await c.entry();
  if (before.status === 0)
    throw new UsageError(
      `${c.account.address} has no registry entry: list the mailbox first with postbox node register`,
    );
  const metadataURI = values["metadata-uri"] ?? before.metadataURI;
  await checkLimits(c, values.multiaddr, metadataURI);
  // The data folder's peer id (a new key replaces the registered one); without a folder, the
  // registered one (the operator may run this away from the mailbox).
  const keyFile = join(dataDir, PEER_KEY_FILE);
  const peerId = existsSync(keyFile)
    ? peerIdFromPrivateKey((await loadOrCreatePeerKey(dataDir)).key).toString()
    : before.peerId;
  const { transactionHash: tx } = await updateEndpoint(c.clients, {
    registry: c.registry,
    peerId,
    multiaddrs: values.multiaddr,
    metadataURI,
  });
  const m = await c.entry();
  report(io, values.json, {
    operator: c.account.address,
    peerId: m.peerId === before.peerId ? m.peerId : `${m.peerId} (was ${before.peerId})`,
    multiaddrs: [...m.multiaddrs],
    metadataURI:
      values["metadata-uri"] === undefined
        ? "unchanged"
        : m.metadataURI.length > 72
          ? `${m.metadataURI.slice(0, 71)}…`
          : m.metadataURI || "(none)",
    browsers: browsers(m.multiaddrs),
    tx,
  });
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
  const { transactionHash: tx } = await announcePrice(c.clients, {
    registry: c.registry,
    pricePerQuery: perQuery,
    pricePerMessage: perMessage,
  });
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
  const { transactionHash: tx } = await requestExit(c.clients, { registry: c.registry });
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
  const { transactionHash: tx } = await withdrawStake(c.clients, { registry: c.registry });
  report(
    io,
    values.json,
    { withdrawn: formatSnt(before.stake, EXACT), tx },
    { withdrawnWei: before.stake.toString() },
  );
  return 0;
}
