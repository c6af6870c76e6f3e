import { disputesAbi, mailboxRegistryAbi, paymentChannelsAbi, sntAbi } from "@postbox/contracts";
import { formatDuration, formatSnt, BaseError as PostboxError } from "@postbox/protocol";
import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type Hex,
  HttpRequestError,
  InsufficientFundsError,
  isHex,
  UserRejectedRequestError,
} from "viem";
import { contractName as knownName, settings } from "./env";
import { shortAddress as short, statusWord } from "./format";

/**
 * Every error the dashboard shows, in words a person can act on: the contracts' custom errors
 * (decoded from a revert, whichever contract in the call chain raised it), the wallet's refusals,
 * an unreachable chain, and the dashboard's own checks before it sends anything.
 */

/** The dashboard refused to send a transaction that would fail, and says what is missing. */
export class PreflightError extends PostboxError {
  override name = "PreflightError" as const;
}

/** Every custom error of SNT, the registry, the channels and the disputes (the spec: contracts/interfaces). */
type AbiError = Extract<Abi[number], { type: "error" }>;

export const contractErrorsAbi: readonly AbiError[] = (() => {
  const seen = new Set<string>();
  const out: AbiError[] = [];
  for (const item of [...sntAbi, ...mailboxRegistryAbi, ...paymentChannelsAbi, ...disputesAbi] as Abi) {
    if (item.type !== "error" || seen.has(item.name)) continue;
    seen.add(item.name);
    out.push(item);
  }
  return out;
})();

/** No browser wallet: what to do instead. */
export const NO_WALLET_MESSAGE = settings.devnet
  ? "No browser wallet was found. Install one (for example MetaMask or Rabby) and reload, or pick a devnet account in this menu: they are funded on the local chain."
  : "No browser wallet was found. Install one (for example MetaMask or Rabby), then reload this page.";

/** A contract address as a person knows it. */
const contractName = (a: Address) => knownName(String(a)) ?? short(String(a));

/** "in 1 min 40 s (at 14:03:20 UTC)" or "already" for a chain time. */
function when(at: bigint, now: number): string {
  const s = Number(at);
  const clock = new Date(s * 1000).toISOString().slice(11, 19);
  return s <= now ? `since ${clock} UTC` : `in ${formatDuration(s - now)} (at ${clock} UTC)`;
}

const UINT96_MAX = 2n ** 96n - 1n;

/**
 * One custom error in words. `args` are as viem decodes them (bigint amounts and times, addresses,
 * numbers for enums); `now` is the chain's clock in seconds.
 */
export function describeContractError(
  name: string,
  args: readonly unknown[] | undefined,
  now: number = Math.floor(Date.now() / 1000),
): string {
  const a: readonly unknown[] = args ?? [];
  switch (name) {
    // SNT (OpenZeppelin ERC-20 and the MiniMe approval rule).
    case "ERC20InsufficientBalance": {
      const [, balance, needed] = a as unknown as [Address, bigint, bigint];
      return `Not enough SNT: this needs ${formatSnt(needed)} and the account holds ${formatSnt(balance)} (${formatSnt(needed - balance)} missing).`;
    }
    case "ERC20InsufficientAllowance": {
      const [spender, allowance, needed] = a as unknown as [Address, bigint, bigint];
      return `${cap(contractName(spender))} may take ${formatSnt(allowance)} of this account's SNT but needs ${formatSnt(needed)}.`;
    }
    case "SNTAllowanceMustBeZeroFirst": {
      const [, spender, current] = a as unknown as [Address, Address, bigint, bigint];
      return `An earlier approval still lets ${contractName(spender)} take ${formatSnt(current)} of this account's SNT, and SNT changes an approval only to or from 0: reset it to 0 first.`;
    }
    case "ERC20InvalidReceiver":
    case "ERC20InvalidSender":
    case "ERC20InvalidSpender":
    case "ERC20InvalidApprover":
      return `The SNT token refused the address ${short(String(a[0]))}.`;
    // The registry.
    case "MailboxRegistryAlreadyRegistered":
      return `${short(String(a[0]))} already has a mailbox in the registry: one mailbox per operator account.`;
    case "MailboxRegistryInvalidStatus": {
      const [operator, status] = a as unknown as [Address, number];
      const word = statusWord(status);
      const what =
        status === 0
          ? "register a mailbox first"
          : status === 1
            ? "request an exit first, then withdraw after the unbonding period"
            : status === 2
              ? "only withdrawing the stake is possible once the unbonding period ends"
              : "it returns with unjail after its term, with at least the minimum stake, or leaves with an exit";
      return `The mailbox of ${short(operator)} is ${word}: ${what}.`;
    }
    case "MailboxRegistryStakeTooLow": {
      // Registering offers a stake; unjailing needs the one staked: both below the minimum.
      const [stake, minStake] = a as unknown as [bigint, bigint];
      return `The minimum stake is ${formatSnt(minStake)} and this stake is ${formatSnt(stake)} (${formatSnt(minStake - stake)} short).`;
    }
    case "MailboxRegistryAmountTooLarge":
      return `${String(a[0])} is too large for the registry: amounts go up to ${formatSnt(UINT96_MAX)}, retention up to 136 years.`;
    case "MailboxRegistryZeroAmount":
    case "PaymentChannelsZeroAmount":
      return "The amount must be more than 0 SNT.";
    case "MailboxRegistryInvalidEndpoint":
      return "The endpoint needs a peer id (1 to 128 bytes) and 1 to 8 multiaddrs.";
    case "MailboxRegistryStillUnbonding": {
      const [, withdrawableAt] = a as unknown as [Address, bigint];
      return `The stake is still unbonding: it becomes withdrawable ${when(withdrawableAt, now)}.`;
    }
    case "MailboxRegistrySlashTooLarge": {
      const [operator, amount, slashable] = a as unknown as [Address, bigint, bigint];
      return `A slash of ${formatSnt(amount)} is more than the ${formatSnt(slashable)} that may still be taken from ${short(operator)} in this slash period.`;
    }
    case "MailboxRegistryStringTooLong": {
      const [field, length, max] = a as unknown as [string, bigint, bigint];
      const what = FIELD_WORDS[field] ?? `The ${field}`;
      return `${what} is ${count(length)} bytes long; the registry takes at most ${count(max)}.`;
    }
    case "MailboxRegistryStillJailed": {
      const [operator, until] = a as unknown as [Address, bigint];
      return `The mailbox of ${short(operator)} is jailed until its term ends ${when(until, now)}: it can unjail, or register again, only after that.`;
    }
    case "MailboxRegistryDeclaredAmountMismatch": {
      const [declared, approved] = a as unknown as [bigint, bigint];
      return `The call declares ${formatSnt(declared)} but approves ${formatSnt(approved)}: the two must be equal (or declare 0).`;
    }
    case "MailboxRegistryNotDisputes":
      return `Only the registry's disputes address can slash or jail, and ${short(String(a[0]))} is not it.`;
    case "MailboxRegistryDisputeAlreadySlashed":
      return `Dispute ${short(String(a[0]))} has slashed already: each dispute slashes once.`;
    case "MailboxRegistryInvalidJailTerm": {
      const [until, latest] = a as unknown as [bigint, bigint];
      return `A jail term must end after now and no later than the unbonding period from now (${when(latest, now)}); this one ends ${Number(until) <= now ? "now or earlier" : when(until, now)}.`;
    }
    case "MailboxRegistryInvalidTreasury":
      return `${short(String(a[0]))} cannot be the treasury: not the zero address, the registry or the token.`;
    case "MailboxRegistryInvalidEvidenceSigner":
      return `${short(String(a[0]))} cannot be this mailbox's evidence signer: not the zero address, and not a key it named before (a key is named once, so a retired key's term never reopens).`;
    case "MailboxRegistryInvalidParameter":
      return `The registry refused the parameter "${String(a[0])}".`;
    case "PaymentChannelsInvalidParameter":
      return `The payment channels contract refused the parameter "${String(a[0])}".`;
    case "SafeCastOverflowedUintDowncast": {
      const [bits] = a as unknown as [number];
      return `A number is too large for the contract (it stores at most ${bits} bits).`;
    }
    case "MailboxRegistryInvalidApproval":
    case "PaymentChannelsInvalidApproval": {
      const [caller] = a as unknown as [Address, Address];
      return `Only SNT's approveAndCall can pay in; the call came from ${contractName(caller)}.`;
    }
    case "MailboxRegistryUnsupportedCall":
    case "PaymentChannelsUnsupportedCall":
      return `The contract does not accept this call through approveAndCall (selector ${String(a[0])}).`;
    case "AccessControlUnauthorizedAccount":
      return `${short(String(a[0]))} does not have the role this needs.`;
    case "OwnableUnauthorizedAccount":
      return `${short(String(a[0]))} is not the contract's owner.`;
    // The payment channels.
    case "PaymentChannelsChannelExists":
      return `Channel ${short(String(a[0]))} exists already (or existed): open again to draw a new one.`;
    case "PaymentChannelsUnknownChannel":
      return `There is no channel ${short(String(a[0]))} on this chain.`;
    case "PaymentChannelsChannelFinalised":
      return `Channel ${short(String(a[0]))} is closed already.`;
    case "PaymentChannelsNotPayer": {
      const [id, caller] = a as unknown as [Hex, Address];
      return `Only the payer of channel ${short(id)} can do this, and ${short(caller)} is not its payer.`;
    }
    case "PaymentChannelsNotPayee": {
      const [id, caller] = a as unknown as [Hex, Address];
      return `Only the mailbox of channel ${short(id)} can do this, and ${short(caller)} is not its mailbox.`;
    }
    case "PaymentChannelsInvalidParty": {
      const [payee, signer] = a as unknown as [Address, Address];
      return `A channel needs a mailbox other than the payer and a signer (mailbox ${short(payee)}, signer ${short(signer)}).`;
    }
    case "PaymentChannelsAmountTooLarge": {
      const [amount, max] = a as unknown as [bigint, bigint];
      return `${formatSnt(amount)} is more than a channel can hold (at most ${formatSnt(max)}).`;
    }
    case "PaymentChannelsClosePending": {
      const [, closesAt] = a as unknown as [Hex, bigint];
      return `This channel is closing (its deposit can be withdrawn ${when(closesAt, now)}): it cannot be topped up or closed again.`;
    }
    case "PaymentChannelsCloseNotCancellable":
      return `The close of channel ${short(String(a[0]))} is final: a channel's close can be cancelled once, and this one's was. Withdraw once the grace ends.`;
    case "PaymentChannelsNoClosePending":
      return "This channel has no close pending: close it first.";
    case "PaymentChannelsCloseNotDue": {
      const [, closesAt] = a as unknown as [Hex, bigint, bigint];
      return `The close grace is not over: the deposit can be withdrawn ${when(closesAt, now)}.`;
    }
    case "PaymentChannelsCloseDeadlinePassed": {
      const [, closesAt] = a as unknown as [Hex, bigint];
      return `The close grace ended ${when(closesAt, now)}: the mailbox can no longer redeem.`;
    }
    case "PaymentChannelsInvalidSignature":
      return `The voucher is not signed by the channel's signer (it recovers to ${short(String(a[1]))}).`;
    case "PaymentChannelsInsufficientDeposit": {
      const [, amount, deposit] = a as unknown as [Hex, bigint, bigint];
      return `The voucher's ${formatSnt(amount)} is more than the channel's deposit of ${formatSnt(deposit)}.`;
    }
    case "PaymentChannelsStaleVoucher": {
      const [, amount, paid] = a as unknown as [Hex, bigint, bigint];
      return `The voucher's ${formatSnt(amount)} is not above the ${formatSnt(paid)} already paid.`;
    }
    // The disputes (an omission proof, a custody dispute and its answer).
    case "DisputesInvalidParameter":
      return `The disputes contract refused the parameter "${String(a[0])}".`;
    case "DisputesRegistryMismatch":
      return `The registry names another disputes contract (${short(String(a[0]))}): this one cannot slash.`;
    case "DisputesUnregisteredOperator":
      return `${short(String(a[0]))} has no mailbox in the registry (it withdrew, or the evidence is of another deployment).`;
    case "DisputesInvalidSignature":
      return "The evidence's signature is malformed.";
    case "DisputesWrongSigner": {
      const [operator, signer] = a as unknown as [Address, Address];
      return `The evidence was signed by ${short(signer)}, which was not the evidence key of ${short(operator)} at its time (another chain or deployment, or forged).`;
    }
    case "DisputesReceiptExpired": {
      const [retainUntil] = a as unknown as [bigint, bigint];
      return `The mailbox's promise to keep the message ended at ${new Date(Number(retainUntil)).toISOString().slice(0, 19).replace("T", " ")} UTC: a promise is disputed before it ends.`;
    }
    case "DisputesAlreadyDisputed":
      return `This evidence was used already (dispute ${short(String(a[0]))}): each receipt and each page proves once.`;
    case "DisputesNotOpen": {
      const [id, state] = a as unknown as [Hex, number];
      return `Dispute ${short(id)} is not open (it is ${DISPUTE_STATES[state] ?? `in state ${state}`}).`;
    }
    case "DisputesWindowClosed": {
      const [id, deadline] = a as unknown as [Hex, bigint];
      return `The answer window of dispute ${short(id)} closed ${when(deadline, now)}.`;
    }
    case "DisputesWindowOpen": {
      const [id, deadline] = a as unknown as [Hex, bigint];
      return `The mailbox may still answer dispute ${short(id)}: its window closes ${when(deadline, now)}.`;
    }
    case "DisputesWrongEnvelope":
      return "The kept message is not the one the evidence names.";
    case "DisputesOperatorMismatch": {
      const [held, page] = a as unknown as [Address, Address];
      return `The evidence is of ${short(held)} and the page of ${short(page)}: a proof takes one mailbox's.`;
    }
    case "DisputesNotHeldWhenServed":
      return "The page was served before the mailbox held the message, or after its promise ended: it proves nothing.";
    case "DisputesNotHeld":
      return "The mailbox's presence answer does not list this message.";
    case "DisputesOutOfRange":
      return "The message is outside the page's time span or topics: the page says nothing of it.";
    case "DisputesNotOmitted":
      return "The page lists this message: nothing was left out.";
    case "ReentrancyGuardReentrantCall":
      return "The contract refused a re-entrant call.";
    case "SafeERC20FailedOperation":
      return "The SNT transfer failed.";
    default:
      return `The contract refused: ${name}.`;
  }
}

/** `IDisputes.State`, in words. */
const DISPUTE_STATES = ["not opened", "open", "answered", "upheld"];

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const count = (n: bigint) => n.toLocaleString("en-US");

/** The registry's names for its bounded strings (MailboxRegistryStringTooLong), in words. */
const FIELD_WORDS: Record<string, string> = {
  peerId: "The peer id",
  multiaddr: "A multiaddr",
  metadataURI: "The metadata URI",
};

/** Decodes revert data against every contract's errors (undefined: not one of ours). */
export function decodeRevert(data: unknown): { errorName: string; args: readonly unknown[] } | undefined {
  const hex =
    typeof data === "object" && data !== null && "data" in data ? (data as { data: unknown }).data : data;
  if (typeof hex !== "string" || !isHex(hex) || hex.length < 10) return undefined;
  try {
    const d = decodeErrorResult({ abi: contractErrorsAbi, data: hex });
    if (d.errorName === "Error" || d.errorName === "Panic") return undefined;
    return { errorName: d.errorName, args: (d.args ?? []) as readonly unknown[] };
  } catch {
    return undefined;
  }
}

/** Any error the dashboard meets, in one line of words (no stack, no RPC dump). */
export function explainError(err: unknown, now: number = Math.floor(Date.now() / 1000)): string {
  if (err instanceof PostboxError) return err.shortMessage;
  if (err instanceof BaseError) {
    const rejected = err.walk(
      (e) => e instanceof UserRejectedRequestError || (e as { code?: unknown }).code === 4001,
    );
    if (rejected) return "You rejected the request in your wallet.";
    const reverted = err.walk(
      (e) => e instanceof ContractFunctionRevertedError,
    ) as ContractFunctionRevertedError | null;
    const named = reverted?.data?.errorName;
    if (named && named !== "Error" && named !== "Panic")
      return describeContractError(named, reverted.data?.args as readonly unknown[], now);
    // A revert that reached us as raw data (decoded against the wrong ABI, or an RPC error).
    let raw = decodeRevert(reverted?.raw);
    for (let e: unknown = err; e && !raw; e = (e as { cause?: unknown }).cause)
      raw = decodeRevert((e as { data?: unknown }).data);
    if (raw) return describeContractError(raw.errorName, raw.args, now);
    const reason = reverted?.reason?.replace(/^execution reverted:?\s*/i, "");
    if (reason) return `The contract refused: ${reason}.`;
    if (reverted) return "The contract refused the call without a reason.";
    if (err.walk((e) => e instanceof InsufficientFundsError))
      return "This account has no ETH to pay for gas.";
    if (err.walk((e) => e instanceof HttpRequestError))
      return `Cannot reach the chain at ${settings.rpcUrl}: is it running?`;
    return firstLine(err.shortMessage);
  }
  if (err instanceof Error) {
    if (err.name === "ProviderNotFoundError") return NO_WALLET_MESSAGE;
    const short = (err as { shortMessage?: unknown }).shortMessage;
    return firstLine(typeof short === "string" ? short : err.message);
  }
  return firstLine(String(err));
}

const firstLine = (s: string) => s.split("\n")[0]!.trim();
