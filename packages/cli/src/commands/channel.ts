import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ChannelManager } from "@postbox/client";
import { ConfigError } from "@postbox/node";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  formatEther,
  type Hex,
  http,
  parseEther,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type Output, UsageError } from "../output.js";

const OPTIONS = `Options (or environment variables):
  --mailbox ADDRESS     the mailbox operator's on-chain address (the payee)
  --data-dir DIR        where the client keeps its session key and channels (default ~/.postbox/client;
                        POSTBOX_CLIENT_DIR)
  --rpc-url URL         the chain's JSON-RPC endpoint (POSTBOX_RPC_URL)
  --chain-id ID         (POSTBOX_CHAIN_ID)
  --snt ADDRESS         the SNT token (POSTBOX_SNT)
  --registry ADDRESS    (POSTBOX_REGISTRY)
  --channels ADDRESS    the PaymentChannels contract (POSTBOX_CHANNELS)
  --wallet-key-file F   a file with the paying wallet's 0x private key (or POSTBOX_WALLET_KEY)
  --json                print JSON
  -h, --help            this help`;

export const CHANNEL_HELP: Record<string, string> = {
  open: `Usage: postbox channel open --mailbox ADDRESS --deposit SNT [options]

Opens a payment channel to a mailbox in one transaction (SNT approveAndCall). Vouchers are signed
by a session key kept in the data folder, so paying for history needs no wallet pop-ups.

${OPTIONS}`,
  topup: `Usage: postbox channel topup --mailbox ADDRESS --amount SNT [options]

Adds to the channel's deposit (refused by the contract once a close is pending).

${OPTIONS}`,
  status: `Usage: postbox channel status --mailbox ADDRESS [options]

Shows the channel: deposit, what the mailbox charged, what it redeemed on-chain, and any close.

${OPTIONS}`,
  close: `Usage: postbox channel close --mailbox ADDRESS [options]

Asks to close. The mailbox may still redeem until the close grace ends (printed); then withdraw.

${OPTIONS}`,
  withdraw: `Usage: postbox channel withdraw --mailbox ADDRESS [options]

After the close grace: takes back everything the mailbox did not redeem.

${OPTIONS}`,
};

function manager(values: Record<string, string | boolean | undefined>) {
  const env = process.env;
  const get = (flag: string, name: string) => (values[flag] as string | undefined) ?? env[name];
  const rpcUrl = get("rpc-url", "POSTBOX_RPC_URL");
  const chainId = Number(get("chain-id", "POSTBOX_CHAIN_ID"));
  const addr = (flag: string, name: string) => {
    const v = get(flag, name);
    if (!v || !/^0x[0-9a-fA-F]{40}$/.test(v))
      throw new ConfigError(flag, `required: an address (--${flag} or ${name})`);
    return v as Address;
  };
  if (!rpcUrl) throw new ConfigError("rpc-url", "required (--rpc-url or POSTBOX_RPC_URL)");
  if (!Number.isInteger(chainId) || chainId <= 0)
    throw new ConfigError("chain-id", "required (--chain-id or POSTBOX_CHAIN_ID)");
  let key = env.POSTBOX_WALLET_KEY;
  if (values["wallet-key-file"]) {
    try {
      key = readFileSync(values["wallet-key-file"] as string, "utf8").trim();
    } catch (e) {
      throw new ConfigError(
        "wallet-key-file",
        `cannot read ${values["wallet-key-file"]} (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  }
  if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new ConfigError("wallet-key", "required: a 0x-prefixed 32-byte private key");
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl) });
  const wallet = createWalletClient({
    chain,
    account: privateKeyToAccount(key as Hex),
    transport: http(rpcUrl),
  });
  return {
    publicClient,
    channels: new ChannelManager({
      dataDir: get("data-dir", "POSTBOX_CLIENT_DIR") ?? join(homedir(), ".postbox", "client"),
      publicClient,
      wallet,
      chainId,
      snt: addr("snt", "POSTBOX_SNT"),
      registry: addr("registry", "POSTBOX_REGISTRY"),
      channels: addr("channels", "POSTBOX_CHANNELS"),
    }),
  };
}

const OPTS = {
  mailbox: { type: "string" },
  "data-dir": { type: "string" },
  "rpc-url": { type: "string" },
  "chain-id": { type: "string" },
  snt: { type: "string" },
  registry: { type: "string" },
  channels: { type: "string" },
  "wallet-key-file": { type: "string" },
  deposit: { type: "string" },
  amount: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function amount(flag: string, v: string | undefined): bigint {
  if (!v || !/^\d+(\.\d+)?$/.test(v)) throw new ConfigError(flag, `required: an SNT amount (--${flag})`);
  return parseEther(v);
}

export function channelCommand(sub: "open" | "topup" | "status" | "close" | "withdraw") {
  return async (argv: string[], io: Output): Promise<number> => {
    const { values } = parseArgs({ args: argv, strict: true, options: OPTS });
    if (values.help) {
      io.out(CHANNEL_HELP[sub]!);
      return 0;
    }
    const mailbox = values.mailbox;
    if (!mailbox || !/^0x[0-9a-fA-F]{40}$/.test(mailbox))
      throw new UsageError("--mailbox ADDRESS (the operator's address) is required");
    const { channels, publicClient } = manager(values);
    const payee = mailbox as Address;
    const out = (view: Record<string, string>) => {
      if (values.json) io.out(JSON.stringify(view));
      else for (const [k, v] of Object.entries(view)) io.out(`${k.padEnd(12)} ${v}`);
    };
    if (sub === "open") {
      const r = await channels.open(payee, amount("deposit", values.deposit));
      out({
        channel: r.channelId,
        mailbox: payee,
        deposit: `${formatEther(BigInt(r.deposit))} SNT`,
        signer: channels.session.address,
      });
    } else if (sub === "topup") {
      const r = await channels.topUp(payee, amount("amount", values.amount));
      out({ channel: r.channelId, deposit: `${formatEther(BigInt(r.deposit))} SNT` });
    } else if (sub === "status") {
      const s = await channels.status(payee);
      const now = (await publicClient.getBlock()).timestamp;
      out({
        channel: s.channelId,
        deposit: `${formatEther(s.depositOnChain)} SNT`,
        spent: `${formatEther(BigInt(s.spent))} SNT`,
        redeemed: `${formatEther(s.paidOnChain)} SNT`,
        close: s.finalised
          ? "closed"
          : s.closesAt === 0n
            ? "open"
            : `withdrawable in ${BigInt(s.closesAt) - now} s`,
      });
    } else if (sub === "close") {
      const tx = await channels.requestClose(payee);
      const s = await channels.status(payee);
      const now = (await publicClient.getBlock()).timestamp;
      out({ channel: s.channelId, withdrawableIn: `${BigInt(s.closesAt) - now} s`, tx });
    } else {
      const s = await channels.status(payee);
      const now = (await publicClient.getBlock()).timestamp;
      if (s.closesAt === 0n) throw new UsageError("request a close first: postbox channel close");
      if (BigInt(s.closesAt) > now)
        throw new UsageError(`the close grace ends in ${BigInt(s.closesAt) - now} s`);
      const tx = await channels.withdraw(payee);
      out({ channel: s.channelId, refunded: `${formatEther(s.depositOnChain - s.paidOnChain)} SNT`, tx });
    }
    return 0;
  };
}
