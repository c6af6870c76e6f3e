import { CHANNEL_HELP, channelCommand } from "./commands/channel.js";
import { NODE_INFO_HELP, NODE_START_HELP, nodeInfo, nodeStart } from "./commands/node.js";
import { nodeExit, nodeRegister, nodeSetPrice, nodeWithdraw, OPERATOR_HELP } from "./commands/operator.js";
import { type Output, stdio, UsageError } from "./output.js";

export const HELP = `Usage: postbox <command> [options]

Commands:
  node start     run a mailbox (archive the network, serve history)
  node info      describe a mailbox (a remote one by MULTIADDR, or the local data folder)
  node register  list this mailbox in the registry with a stake and prices (one transaction)
  node set-price announce new prices (increases apply after the registry's delay)
  node exit      start leaving the registry (the stake unbonds)
  node withdraw  withdraw the stake after unbonding
  channel open | topup | status | close | withdraw
                 pay a mailbox for history through an SNT payment channel

Run "postbox <command> --help" for a command's options.
`;

type Handler = (argv: string[], io: Output) => Promise<number>;

const COMMANDS: Record<string, { run: Handler; help: string }> = {
  "node start": { run: nodeStart, help: NODE_START_HELP },
  "node info": { run: nodeInfo, help: NODE_INFO_HELP },
  "node register": { run: nodeRegister, help: OPERATOR_HELP.register! },
  "node set-price": { run: nodeSetPrice, help: OPERATOR_HELP["set-price"]! },
  "node exit": { run: nodeExit, help: OPERATOR_HELP.exit! },
  "node withdraw": { run: nodeWithdraw, help: OPERATOR_HELP.withdraw! },
  "channel open": { run: channelCommand("open"), help: CHANNEL_HELP.open! },
  "channel topup": { run: channelCommand("topup"), help: CHANNEL_HELP.topup! },
  "channel status": { run: channelCommand("status"), help: CHANNEL_HELP.status! },
  "channel close": { run: channelCommand("close"), help: CHANNEL_HELP.close! },
  "channel withdraw": { run: channelCommand("withdraw"), help: CHANNEL_HELP.withdraw! },
};

/** Runs the CLI; returns the exit code. Errors print as one line: no stack traces. */
export async function main(argv: string[], io: Output = stdio): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    io.out(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const name = `${argv[0]} ${argv[1] ?? ""}`.trim();
  const command = COMMANDS[name];
  if (!command) {
    io.err(`postbox: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await command.run(argv.slice(2), io);
  } catch (err) {
    const e = err as Error & { code?: string; setting?: string };
    if (e.name === "ConfigError" || e instanceof UsageError || e.code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`postbox: ${e.message.split("\n")[0]}`);
      return 2;
    }
    io.err(
      `postbox: ${e.name === "Error" ? "" : `${e.name}: `}${(e as { shortMessage?: string }).shortMessage ?? e.message.split("\n")[0]}`,
    );
    return 1;
  }
}
