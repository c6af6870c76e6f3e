import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { mailboxRegistryAbi, sntAbi } from "@postbox/contracts";
import { ConfigError, loadConfig, loadOrCreatePeerKey, parseDuration } from "@postbox/node";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  formatEther,
  type Hex,
  http,
  parseEther,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type Output, UsageError } from "../output.js";

const COMMON = `Chain options (or the POSTBOX_* environment variables the node reads):
  --rpc-url URL           the chain's JSON-RPC endpoint (POSTBOX_RPC_URL)
  --chain-id ID           the chain id it must serve (POSTBOX_CHAIN_ID)
  --registry ADDRESS      the MailboxRegistry (POSTBOX_REGISTRY)
  --operator-key-file F   a file with the operator's 0x private key (or POSTBOX_OPERATOR_KEY)
  --json                  print JSON
  -h, --help              this help`;

export const OPERATOR_HELP: Record<string, string> = {
  register: `Usage: postbox node register --multiaddr ADDR [--multiaddr ADDR…] [options]

Lists this mailbox in the MailboxRegistry in one transaction (SNT approveAndCall): its peer id
(from --data-dir's peer.key), where to dial it, its prices and retention, with a stake.

Options:
  --data-dir DIR            the mailbox's data folder (default ~/.postbox/node)
  --multiaddr ADDR          a public address of the mailbox, without /p2p/ (repeat; at most 8)
  --stake SNT               stake to lock (default: the registry's minimum)
  --price-per-query SNT     price of one history page (default 0.01)
  --price-per-message SNT   price per envelope returned (default 0.0001)
  --retention DURATION      how long envelopes are kept (default 30d)
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

function chainOptions() {
  return {
    "rpc-url": { type: "string" },
    "chain-id": { type: "string" },
    registry: { type: "string" },
    "operator-key-file": { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  } as const;
}

function connect(values: Record<string, string | boolean | string[] | undefined>) {
  const env = process.env;
  const rpcUrl = (values["rpc-url"] as string | undefined) ?? env.POSTBOX_RPC_URL;
  const chainId = Number((values["chain-id"] as string | undefined) ?? env.POSTBOX_CHAIN_ID);
  const registry = ((values.registry as string | undefined) ?? env.POSTBOX_REGISTRY) as Address | undefined;
  let key = env.POSTBOX_OPERATOR_KEY;
  if (values["operator-key-file"]) {
    try {
      key = readFileSync(values["operator-key-file"] as string, "utf8").trim();
    } catch (e) {
      throw new ConfigError(
        "operator-key-file",
        `cannot read ${values["operator-key-file"]} (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  }
  if (!rpcUrl) throw new ConfigError("rpc-url", "required (--rpc-url or POSTBOX_RPC_URL)");
  if (!Number.isInteger(chainId) || chainId <= 0)
    throw new ConfigError("chain-id", "required (--chain-id or POSTBOX_CHAIN_ID)");
  if (!registry || !/^0x[0-9a-fA-F]{40}$/.test(registry))
    throw new ConfigError("registry", "required: the MailboxRegistry address");
  if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new ConfigError("operator-key", "required: a 0x-prefixed 32-byte private key");
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const account = privateKeyToAccount(key as Hex);
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

function snt(flag: string, v: string | undefined, fallback: bigint): bigint {
  if (v === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new ConfigError(flag, `"${v}" is not an SNT amount`);
  return parseEther(v);
}

function report(io: Output, json: boolean | undefined, view: Record<string, string | number>) {
  if (json) io.out(JSON.stringify(view));
  else for (const [k, v] of Object.entries(view)) io.out(`${k.padEnd(16)} ${v}`);
}

export async function nodeRegister(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...chainOptions(),
      "data-dir": { type: "string" },
      multiaddr: { type: "string", multiple: true },
      stake: { type: "string" },
      "price-per-query": { type: "string" },
      "price-per-message": { type: "string" },
      retention: { type: "string" },
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
  }
  const c = connect(values);
  const config = loadConfig({
    env: process.env,
    flags: values["data-dir"] ? { dataDir: values["data-dir"] } : {},
  });
  const { key } = await loadOrCreatePeerKey(config.dataDir);
  const peerId = peerIdFromPrivateKey(key).toString();
  const [token, minStake] = await Promise.all([
    c.publicClient.readContract({ address: c.registry, abi: mailboxRegistryAbi, functionName: "token" }),
    c.publicClient.readContract({ address: c.registry, abi: mailboxRegistryAbi, functionName: "minStake" }),
  ]);
  const stake = snt("stake", values.stake, minStake);
  let retention: number;
  try {
    retention = parseDuration(values.retention ?? "30d");
  } catch (e) {
    throw new ConfigError("retention", (e as Error).message);
  }
  const call = encodeFunctionData({
    abi: mailboxRegistryAbi,
    functionName: "register",
    args: [
      peerId,
      values.multiaddr,
      values["metadata-uri"] ?? "",
      0n,
      snt("price-per-query", values["price-per-query"], parseEther("0.01")),
      snt("price-per-message", values["price-per-message"], parseEther("0.0001")),
      BigInt(retention),
    ],
  });
  const tx = await c.send(
    token,
    encodeFunctionData({ abi: sntAbi, functionName: "approveAndCall", args: [c.registry, stake, call] }),
  );
  const m = await c.entry();
  report(io, values.json, {
    operator: c.account.address,
    peerId,
    status: STATUS[m.status] ?? String(m.status),
    stake: `${formatEther(m.stake)} SNT`,
    pricePerQuery: `${formatEther(m.pricePerQuery)} SNT`,
    pricePerMessage: `${formatEther(m.pricePerMessage)} SNT`,
    tx,
  });
  return 0;
}

export async function nodeSetPrice(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...chainOptions(),
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
  const c = connect(values);
  const tx = await c.send(
    c.registry,
    encodeFunctionData({
      abi: mailboxRegistryAbi,
      functionName: "announcePrice",
      args: [
        snt("price-per-query", values["price-per-query"], 0n),
        snt("price-per-message", values["price-per-message"], 0n),
      ],
    }),
  );
  const m = await c.entry();
  const now = (await c.publicClient.getBlock()).timestamp;
  report(io, values.json, {
    pricePerQuery: `${formatEther(m.pricePerQuery)} SNT (now)`,
    pricePerMessage: `${formatEther(m.pricePerMessage)} SNT (now)`,
    ...(m.priceEffectiveAt > 0n
      ? {
          pending: `${formatEther(m.pendingPricePerQuery)} / ${formatEther(m.pendingPricePerMessage)} SNT`,
          effectiveIn: `${m.priceEffectiveAt - now} s (at ${new Date(Number(m.priceEffectiveAt) * 1000).toISOString()})`,
        }
      : {}),
    tx,
  });
  return 0;
}

export async function nodeExit(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: chainOptions() });
  if (values.help) {
    io.out(OPERATOR_HELP.exit!);
    return 0;
  }
  const c = connect(values);
  const tx = await c.send(
    c.registry,
    encodeFunctionData({ abi: mailboxRegistryAbi, functionName: "requestExit" }),
  );
  const m = await c.entry();
  const now = (await c.publicClient.getBlock()).timestamp;
  report(io, values.json, {
    status: STATUS[m.status] ?? String(m.status),
    stake: `${formatEther(m.stake)} SNT`,
    withdrawableIn: `${m.withdrawableAt - now} s (at ${new Date(Number(m.withdrawableAt) * 1000).toISOString()})`,
    tx,
  });
  return 0;
}

export async function nodeWithdraw(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: chainOptions() });
  if (values.help) {
    io.out(OPERATOR_HELP.withdraw!);
    return 0;
  }
  const c = connect(values);
  const before = await c.entry();
  const now = (await c.publicClient.getBlock()).timestamp;
  if (before.status === 2 && before.withdrawableAt > now) {
    throw new UsageError(`the stake unbonds in ${before.withdrawableAt - now} s`);
  }
  const tx = await c.send(
    c.registry,
    encodeFunctionData({ abi: mailboxRegistryAbi, functionName: "withdrawStake" }),
  );
  report(io, values.json, { withdrawn: `${formatEther(before.stake)} SNT`, tx });
  return 0;
}
