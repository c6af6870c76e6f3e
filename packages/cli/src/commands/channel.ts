import { parseArgs } from "node:util";
import { ConfigError } from "@postbox/node";
import { type Address, formatEther, parseEther } from "viem";
import { CLIENT_HELP, CLIENT_OPTIONS, chainContext, channelManager } from "../client-config.js";
import { type Output, UsageError } from "../output.js";

const OPTIONS = `Options:
  --mailbox ADDRESS     the mailbox operator's on-chain address (the payee)

${CLIENT_HELP}`;

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

const OPTS = {
  ...CLIENT_OPTIONS,
  mailbox: { type: "string" },
  amount: { type: "string" },
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
    const ctx = chainContext(values, { requireWallet: true });
    const { publicClient } = ctx;
    const channels = channelManager(ctx);
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
        signer: channels.session.address,
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
