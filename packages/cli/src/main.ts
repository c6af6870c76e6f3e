import { CHANNEL_HELP, channelCommand } from "./commands/channel.js";
import {
  CHAT_HELP,
  chatRead,
  chatRetry,
  chatSend,
  chatStatus,
  contactCommand,
  groupCommand,
  identityCommand,
  mailboxesCommand,
  mailboxPinCommand,
  roomCommand,
} from "./commands/chat.js";
import { DISPUTE_HELP, disputeCommand } from "./commands/dispute.js";
import {
  NODE_INFO_HELP,
  NODE_INIT_HELP,
  NODE_START_HELP,
  nodeInfo,
  nodeInit,
  nodeStart,
} from "./commands/node.js";
import {
  nodeExit,
  nodeRegister,
  nodeSetEndpoint,
  nodeSetPrice,
  nodeWithdraw,
  OPERATOR_HELP,
} from "./commands/operator.js";
import { PROBER_START_HELP, proberStart } from "./commands/prober.js";
import { type Output, stdio, UsageError } from "./output.js";

export const HELP = `Usage: postbox <command> [options]

Commands:
  node init      create a mailbox's key; print its peer id and the addresses to register
  node start     run a mailbox (archive the network, serve history)
  node info      describe a mailbox (a remote one by MULTIADDR, or the local data folder)
  node register  list this mailbox in the registry with a stake and prices (one transaction)
  node set-endpoint
                 change the registered addresses (e.g. add /tls/ws for browsers) or metadata URI
  node set-price announce new prices (increases apply after the registry's delay)
  node exit      start leaving the registry (the stake unbonds)
  node withdraw  withdraw the stake after unbonding
  channel open | topup | status | close | withdraw
                 pay a mailbox for history through an SNT payment channel
  chat send      send a message to a contact, #room or group (stored by your mailboxes)
  chat read      catch up (paid, with progress) and print a conversation, with your messages' states
  chat retry     send again a message no mailbox stored
  chat status    a sent message's state: stored (by which mailboxes), delivered (to whom)
  id             your public key (--export the private one, --import one exported elsewhere)
  contact add | list, room join | leave, group create | join
                 who and what you follow
  mailboxes      registered mailboxes: price, uptime, latency, completeness, score, chance
  mailbox pin | unpin
                 always use one mailbox
  dispute list | custody | finalise | omission
                 prove on-chain that a mailbox lost or withheld your message (its stake is slashed)
  prober start   measure every registered mailbox and serve signed figures over HTTP

Run "postbox <command> --help" for a command's options.
`;

type Handler = (argv: string[], io: Output) => Promise<number>;

const COMMANDS: Record<string, { run: Handler; help: string }> = {
  "node init": { run: nodeInit, help: NODE_INIT_HELP },
  "node start": { run: nodeStart, help: NODE_START_HELP },
  "node info": { run: nodeInfo, help: NODE_INFO_HELP },
  "node register": { run: nodeRegister, help: OPERATOR_HELP.register! },
  "node set-endpoint": { run: nodeSetEndpoint, help: OPERATOR_HELP["set-endpoint"]! },
  "node set-price": { run: nodeSetPrice, help: OPERATOR_HELP["set-price"]! },
  "node exit": { run: nodeExit, help: OPERATOR_HELP.exit! },
  "node withdraw": { run: nodeWithdraw, help: OPERATOR_HELP.withdraw! },
  "channel open": { run: channelCommand("open"), help: CHANNEL_HELP.open! },
  "channel topup": { run: channelCommand("topup"), help: CHANNEL_HELP.topup! },
  "channel status": { run: channelCommand("status"), help: CHANNEL_HELP.status! },
  "channel close": { run: channelCommand("close"), help: CHANNEL_HELP.close! },
  "channel withdraw": { run: channelCommand("withdraw"), help: CHANNEL_HELP.withdraw! },
  "chat send": { run: chatSend, help: CHAT_HELP.send! },
  "chat read": { run: chatRead, help: CHAT_HELP.read! },
  "chat retry": { run: chatRetry, help: CHAT_HELP.retry! },
  "chat status": { run: chatStatus, help: CHAT_HELP.status! },
  id: { run: identityCommand, help: CHAT_HELP.id! },
  "contact add": { run: contactCommand("add"), help: CHAT_HELP.contact! },
  "contact list": { run: contactCommand("list"), help: CHAT_HELP.contact! },
  "room join": { run: roomCommand("join"), help: CHAT_HELP.room! },
  "room leave": { run: roomCommand("leave"), help: CHAT_HELP.room! },
  "group create": { run: groupCommand("create"), help: CHAT_HELP.group! },
  "group join": { run: groupCommand("join"), help: CHAT_HELP.group! },
  mailboxes: { run: mailboxesCommand, help: CHAT_HELP.mailboxes! },
  "mailbox pin": { run: mailboxPinCommand("pin"), help: CHAT_HELP.mailbox! },
  "mailbox unpin": { run: mailboxPinCommand("unpin"), help: CHAT_HELP.mailbox! },
  "dispute list": { run: disputeCommand("list"), help: DISPUTE_HELP.list! },
  "dispute custody": { run: disputeCommand("custody"), help: DISPUTE_HELP.custody! },
  "dispute finalise": { run: disputeCommand("finalise"), help: DISPUTE_HELP.finalise! },
  "dispute omission": { run: disputeCommand("omission"), help: DISPUTE_HELP.omission! },
  "prober start": { run: proberStart, help: PROBER_START_HELP },
};

/** What each command group is for, at the top of its help. */
const GROUP_SUMMARY: Record<string, string> = {
  node: "Run a mailbox and manage its registry entry (operators).",
  channel: "Pay a mailbox for history through an SNT payment channel.",
  chat: "Send messages and catch up on them.",
  contact: "Name the people you write to by their public keys.",
  room: "Follow public rooms.",
  group: "Create and join private groups.",
  mailbox: "Choose the mailbox you use (see also: postbox mailboxes).",
  prober: "Measure every registered mailbox and serve signed figures.",
  dispute: "Prove on-chain, from the evidence your client kept, that a mailbox broke a promise.",
};

/** The help of a command group ("postbox channel"): its commands' usage lines. */
export function groupHelp(group: string): string | undefined {
  const usages = Object.entries(COMMANDS)
    .filter(([name]) => name.startsWith(`${group} `))
    .flatMap(([, c]) =>
      c.help
        .split("\n")[0]!
        .replace(/^Usage:\s*/, "")
        .split(/ \| (?=postbox )/)
        .map((usage) => `  ${usage}`),
    );
  if (usages.length === 0) return undefined;
  return `Usage: postbox ${group} <command> [options]

${GROUP_SUMMARY[group] ?? ""}

Commands:
${[...new Set(usages)].join("\n")}

Run "postbox ${group} <command> --help" for a command's options.
`;
}

const isHelp = (arg: string | undefined) => arg === "--help" || arg === "-h" || arg === "help";

/** Runs the CLI; returns the exit code. Errors print as one line: no stack traces. */
export async function main(argv: string[], io: Output = stdio): Promise<number> {
  if (argv.length === 0 || isHelp(argv[0])) {
    io.out(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const two = `${argv[0]} ${argv[1] ?? ""}`.trim();
  const name = COMMANDS[two] ? two : (argv[0] as string);
  const command = COMMANDS[name];
  if (!command) {
    const group = groupHelp(argv[0]!);
    if (group && (argv.length === 1 || isHelp(argv[1]))) {
      io.out(group);
      return argv.length === 1 ? 2 : 0;
    }
    io.err(`postbox: unknown command "${group ? two : name}"\n\n${group ?? HELP}`);
    return 2;
  }
  const rest = argv.slice(name.split(" ").length);
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    const e = err as Error & { code?: string; setting?: string };
    if (e.name === "ConfigError" || e instanceof UsageError || e.code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`postbox: ${e.message.split("\n")[0]}`);
      return 2;
    }
    const short = (e as { shortMessage?: string }).shortMessage;
    const details = (e as { details?: string }).details;
    io.err(
      `postbox: ${e.name === "Error" ? "" : `${e.name}: `}${short ?? e.message.split("\n")[0]}${short && details ? ` (${details.split("\n")[0]})` : ""}`,
    );
    return 1;
  }
}
