import { disputesAbi, mailboxRegistryAbi, paymentChannelsAbi, sntAbi } from "@postbox/contracts";
import {
  type Abi,
  encodeErrorResult,
  getContractError,
  type Hex,
  HttpRequestError,
  RpcRequestError,
  UserRejectedRequestError,
} from "viem";
import { describe, expect, it } from "vitest";
import { settings } from "./env";
import { contractErrorsAbi, describeContractError, explainError, PreflightError } from "./errors";

const ME = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
const MAILBOX = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const CHANNEL = `0x${"ab".repeat(32)}` as Hex;
const SNT = 10n ** 18n;
const NOW = 1_700_000_000;

/**
 * A revert as viem hands it to the dashboard: the node answers the call (simulation or send) with
 * JSON-RPC error code 3 and the revert data, and viem wraps it against the ABI of the function
 * called. The dashboard calls SNT's approveAndCall for every payment, so a registry or channels
 * error arrives wrapped against SNT's ABI, which does not know it.
 */
function revert(abi: Abi, errorName: string, args: readonly unknown[], calledAbi: Abi = sntAbi): Error {
  const data = encodeErrorResult({ abi, errorName, args } as never);
  return getContractError(
    new RpcRequestError({
      body: { method: "eth_call" },
      error: { code: 3, message: "execution reverted", data },
      url: "http://127.0.0.1:8545",
    }),
    { abi: calledAbi, functionName: "approveAndCall", args: [] },
  );
}

/** The errors each dashboard action can meet, with the words it must show. */
const cases: [string, Abi, readonly unknown[], RegExp][] = [
  // Register or add stake (approveAndCall into the registry).
  [
    "MailboxRegistryStakeTooLow",
    mailboxRegistryAbi,
    [500n * SNT, 1000n * SNT],
    /^The minimum stake is 1,000 SNT and this stake is 500 SNT \(500 SNT short\)\.$/,
  ],
  [
    "ERC20InsufficientBalance",
    sntAbi,
    [ME, 5n * SNT, 1_000_005n * SNT],
    /^Not enough SNT: this needs 1,000,005 SNT and the account holds 5 SNT \(1,000,000 SNT missing\)\.$/,
  ],
  [
    "SNTAllowanceMustBeZeroFirst",
    sntAbi,
    [ME, settings.registry, 3n * SNT, 10n * SNT],
    /lets the mailbox registry take 3 SNT .* reset it to 0 first\.$/,
  ],
  ["MailboxRegistryAlreadyRegistered", mailboxRegistryAbi, [ME], /^0x9965…A4dc already has a mailbox/],
  [
    "MailboxRegistryInvalidEndpoint",
    mailboxRegistryAbi,
    [],
    /peer id \(1 to 128 bytes\) and 1 to 8 multiaddrs/,
  ],
  ["MailboxRegistryZeroAmount", mailboxRegistryAbi, [], /^The amount must be more than 0 SNT\.$/],
  [
    "MailboxRegistryDeclaredAmountMismatch",
    mailboxRegistryAbi,
    [2n * SNT, SNT],
    /^The call declares 2 SNT but approves 1 SNT: the two must be equal \(or declare 0\)\.$/,
  ],
  [
    "MailboxRegistryStringTooLong",
    mailboxRegistryAbi,
    ["metadataURI", 3000n, 2048n],
    /^The metadata URI is 3,000 bytes long; the registry takes at most 2,048\.$/,
  ],
  [
    "MailboxRegistryStringTooLong",
    mailboxRegistryAbi,
    ["multiaddr", 300n, 256n],
    /^A multiaddr is 300 bytes long; the registry takes at most 256\.$/,
  ],
  // Register again after withdrawing while a jail term runs.
  [
    "MailboxRegistryStillJailed",
    mailboxRegistryAbi,
    [ME, BigInt(NOW + 60)],
    /^The mailbox of 0x9965…A4dc is jailed until its term ends in 1 min 0 s \(at \d\d:\d\d:\d\d UTC\): it can unjail, or register again, only after that\.$/,
  ],
  ["MailboxRegistryAmountTooLarge", mailboxRegistryAbi, [2n ** 100n], /too large for the registry/],
  // Announce a price, update the endpoint, exit, withdraw, unjail.
  [
    "MailboxRegistryInvalidStatus",
    mailboxRegistryAbi,
    [ME, 3],
    /^The mailbox of 0x9965…A4dc is jailed: it returns with unjail after its term, with at least the minimum stake, or leaves with an exit\.$/,
  ],
  [
    "MailboxRegistryStakeTooLow",
    mailboxRegistryAbi,
    [900n * SNT, 1000n * SNT],
    /^The minimum stake is 1,000 SNT and this stake is 900 SNT \(100 SNT short\)\.$/,
  ],
  // What only the disputes address may do, should a page ever try it.
  [
    "MailboxRegistryNotDisputes",
    mailboxRegistryAbi,
    [ME],
    /^Only the registry's disputes address can slash or jail, and 0x9965…A4dc is not it\.$/,
  ],
  [
    "MailboxRegistryDisputeAlreadySlashed",
    mailboxRegistryAbi,
    [CHANNEL],
    /^Dispute 0xabab…abab has slashed already: each dispute slashes once\.$/,
  ],
  [
    "MailboxRegistryInvalidJailTerm",
    mailboxRegistryAbi,
    [BigInt(NOW + 300), BigInt(NOW + 120)],
    /^A jail term must end after now and no later than the unbonding period from now \(in 2 min 0 s \(at .*\)\); this one ends in 5 min 0 s/,
  ],
  [
    "MailboxRegistrySlashTooLarge",
    mailboxRegistryAbi,
    [ME, 200n * SNT, 100n * SNT],
    /^A slash of 200 SNT is more than the 100 SNT that may still be taken from 0x9965…A4dc in this slash period\.$/,
  ],
  [
    "MailboxRegistryInvalidStatus",
    mailboxRegistryAbi,
    [ME, 2],
    /^The mailbox of 0x9965…A4dc is exiting: only withdrawing the stake/,
  ],
  [
    "MailboxRegistryStillUnbonding",
    mailboxRegistryAbi,
    [ME, BigInt(NOW + 100)],
    /^The stake is still unbonding: it becomes withdrawable in 1 min 40 s \(at \d\d:\d\d:\d\d UTC\)\.$/,
  ],
  // Open, top up, close, withdraw a channel.
  [
    "PaymentChannelsInvalidParty",
    paymentChannelsAbi,
    [ME, ME],
    /^A channel needs a mailbox other than the payer and a signer/,
  ],
  ["PaymentChannelsZeroAmount", paymentChannelsAbi, [], /^The amount must be more than 0 SNT\.$/],
  [
    "PaymentChannelsAmountTooLarge",
    paymentChannelsAbi,
    [2n ** 97n, 2n ** 96n - 1n],
    /more than a channel can hold \(at most 79,228,162,514\.2643 SNT\)/,
  ],
  ["PaymentChannelsChannelExists", paymentChannelsAbi, [CHANNEL], /exists already/],
  ["PaymentChannelsUnknownChannel", paymentChannelsAbi, [CHANNEL], /no channel 0xabab…abab/],
  ["PaymentChannelsChannelFinalised", paymentChannelsAbi, [CHANNEL], /is closed already/],
  ["PaymentChannelsNotPayer", paymentChannelsAbi, [CHANNEL, MAILBOX], /Only the payer of channel/],
  [
    "PaymentChannelsClosePending",
    paymentChannelsAbi,
    [CHANNEL, BigInt(NOW + 42)],
    /closing \(its deposit can be withdrawn in 42 s .*cannot be topped up/,
  ],
  ["PaymentChannelsNoClosePending", paymentChannelsAbi, [CHANNEL], /no close pending/],
  // Keep open a second time: a channel's close is cancelled once.
  [
    "PaymentChannelsCloseNotCancellable",
    paymentChannelsAbi,
    [CHANNEL],
    /^The close of channel 0xabab…abab is final: a channel's close can be cancelled once, and this one's was\. Withdraw once the grace ends\.$/,
  ],
  [
    "PaymentChannelsCloseNotDue",
    paymentChannelsAbi,
    [CHANNEL, BigInt(NOW + 120), BigInt(NOW)],
    /^The close grace is not over: the deposit can be withdrawn in 2 min 0 s/,
  ],
  // "Prove on-chain" in the web chat (Disputes.proveOmissionByPresence, proveOmission).
  [
    "DisputesAlreadyDisputed",
    disputesAbi,
    [CHANNEL],
    /^This evidence was used already \(dispute 0xabab…abab\): each receipt and each page proves once\.$/,
  ],
  ["DisputesNotOmitted", disputesAbi, [CHANNEL], /^The page lists this message: nothing was left out\.$/],
  [
    "DisputesWrongSigner",
    disputesAbi,
    [MAILBOX, ME],
    /^The evidence was signed by 0x9965…A4dc, which was not the evidence key of 0x7099…79C8 at its time/,
  ],
];

describe("contract errors in words", () => {
  it.each(cases)("%s", (name, abi, args, words) => {
    // Decoded however it arrives: against SNT's ABI (approveAndCall), or the contract's own.
    expect(explainError(revert(abi, name, args), NOW)).toMatch(words);
    expect(explainError(revert(abi, name, args, abi), NOW)).toMatch(words);
    expect(describeContractError(name, args as never, NOW)).toMatch(words);
  });

  it("knows every custom error of the four contracts, and words each one", () => {
    const names = contractErrorsAbi.map((e) => e.name);
    for (const name of [
      "ERC20InsufficientBalance",
      "MailboxRegistryStakeTooLow",
      "PaymentChannelsCloseNotDue",
      "SNTAllowanceMustBeZeroFirst",
    ])
      expect(names).toContain(name);
    // Errors of deployment and administration: no dashboard action meets them.
    const admin = /^(AccessControl|Ownable|InvalidShortString$|StringTooLong$)/;
    for (const e of contractErrorsAbi) {
      if (admin.test(e.name)) continue;
      const args = e.inputs.map((i: { type: string }) =>
        i.type === "address"
          ? ME
          : i.type === "bytes32"
            ? CHANNEL
            : i.type === "string"
              ? "x"
              : i.type === "bytes4"
                ? "0x12345678"
                : i.type === "uint8"
                  ? 1
                  : 0n,
      );
      for (const words of [describeContractError(e.name, args, NOW)]) {
        expect(words, e.name).not.toMatch(/^The contract refused: /);
        expect(words, e.name).not.toContain("\n");
        // Nobody "releases" a jailed mailbox since issue #20: its operator unjails it.
        expect(words, e.name).not.toMatch(/jailer|released/);
      }
    }
    // Every status a refusal can name, in words.
    for (const status of [0, 1, 2, 3])
      expect(describeContractError("MailboxRegistryInvalidStatus", [ME, status], NOW)).not.toMatch(
        /jailer|status \d/,
      );
  });
});

describe("other failures in words", () => {
  it("a wallet refusal", () => {
    const err = new UserRejectedRequestError(new Error("User denied transaction signature."));
    expect(explainError(err)).toBe("You rejected the request in your wallet.");
  });

  it("an unreachable chain", () => {
    const err = new HttpRequestError({ url: "http://127.0.0.1:8545", body: {}, details: "fetch failed" });
    expect(explainError(err)).toMatch(/^Cannot reach the chain at http/);
  });

  it("a revert with a reason string, and one without data", () => {
    const data = encodeErrorResult({
      abi: [{ type: "error", name: "Error", inputs: [{ type: "string", name: "message" }] }],
      errorName: "Error",
      args: ["nope"],
    });
    const withReason = getContractError(
      new RpcRequestError({
        body: {},
        error: { code: 3, message: "execution reverted: nope", data },
        url: "x",
      }),
      { abi: sntAbi, functionName: "transfer", args: [] },
    );
    expect(explainError(withReason)).toBe("The contract refused: nope.");
    const bare = getContractError(
      new RpcRequestError({
        body: {},
        error: { code: 3, message: "execution reverted", data: "0x" },
        url: "x",
      }),
      { abi: sntAbi, functionName: "transfer", args: [] },
    );
    expect(explainError(bare)).toBe("The contract refused the call without a reason.");
  });

  it("the dashboard's own checks and a missing wallet, as one line", () => {
    expect(explainError(new PreflightError("You need 5 SNT more."))).toBe("You need 5 SNT more.");
    const noProvider = Object.assign(new Error("Provider not found.\n\nVersion: @wagmi/core"), {
      name: "ProviderNotFoundError",
    });
    expect(explainError(noProvider)).toMatch(/^No browser wallet was found\. Install one .* devnet account/);
    expect(explainError(new Error("first\nsecond"))).toBe("first");
  });
});
