import { AmountError, type AmountErrorReason, type ParseSntOptions, parseSnt } from "@postbox/protocol";
import { type Address, isAddress } from "viem";

/**
 * Checks of what people type into the dashboard's fields, run on every keystroke: the result is
 * either the value or the sentence to show next to the field (and the submit button stays
 * disabled). Amounts go through @postbox/protocol's parseSnt, like the CLI's.
 */

export type Check<T> = { ok: true; value: T } | { ok: false; message: string };

/** An SNT amount as typed, with parseSnt's rules (separator, decimals, minimum, maximum). */
export function checkAmount(
  input: string,
  options: ParseSntOptions = {},
): Check<bigint> & { reason?: AmountErrorReason } {
  try {
    return { ok: true, value: parseSnt(input, options) };
  } catch (err) {
    if (err instanceof AmountError) return { ok: false, message: err.shortMessage, reason: err.reason };
    throw err;
  }
}

/** The registry and the channels store amounts as uint96. */
export const MAX_CONTRACT_AMOUNT = 2n ** 96n - 1n;

/** Retention in days, as typed: a positive number that fits the registry's uint32 seconds. */
export function checkDays(input: string): Check<bigint> {
  const t = input.trim();
  if (t === "") return { ok: false, message: "Enter a number of days." };
  if (!/^\d*\.?\d*$/.test(t) || t === ".")
    return {
      ok: false,
      message: `"${t}" is not a number of days: use digits and at most one dot, for example 30.`,
    };
  const seconds = Math.round(Number(t) * 86_400);
  if (seconds <= 0) return { ok: false, message: "Retention must be more than 0 days." };
  if (seconds > 2 ** 32 - 1) return { ok: false, message: "Retention can be at most 49,710 days." };
  return { ok: true, value: BigInt(seconds) };
}

/** An address field that may be left empty (then `fallback`). */
export function checkAddress(input: string, fallback: Address): Check<Address> {
  const t = input.trim();
  if (t === "") return { ok: true, value: fallback };
  if (!isAddress(t, { strict: false }))
    return { ok: false, message: "Not an address: 0x followed by 40 hexadecimal digits." };
  return { ok: true, value: t as Address };
}

/** A list of multiaddrs separated by spaces, commas or new lines (1 to 8, each starting with "/"). */
export function checkMultiaddrs(input: string): Check<string[]> {
  const list = input.split(/[\s,]+/).filter(Boolean);
  if (list.length === 0)
    return { ok: false, message: "Enter at least one multiaddr, for example /ip4/203.0.113.5/tcp/60001." };
  if (list.length > 8)
    return { ok: false, message: `The registry takes at most 8 multiaddrs (${list.length} given).` };
  const bad = list.find((a) => !/^\/[a-z0-9-]+\/\S+/i.test(a));
  if (bad)
    return {
      ok: false,
      message: `"${bad}" is not a multiaddr: it starts with a protocol, as /ip4/… or /dns4/….`,
    };
  return { ok: true, value: list };
}

/** A libp2p peer id as text (the registry takes 1 to 128 bytes). */
export function checkPeerId(input: string): Check<string> {
  const t = input.trim();
  if (t === "") return { ok: false, message: "Enter the mailbox's peer id (postbox node init prints it)." };
  if (new TextEncoder().encode(t).length > 128)
    return { ok: false, message: "A peer id is at most 128 bytes." };
  if (!/^[1-9A-HJ-NP-Za-km-z]+$/.test(t) && !/^b[a-z2-7]+$/.test(t))
    return { ok: false, message: "A peer id is base58 (12D3KooW…) or a base32 CID (b…)." };
  return { ok: true, value: t };
}

/** A percentage typed into a filter: empty (any, undefined) or 0 to 100, as a share (0..1). */
export function checkPercent(input: string): Check<number | undefined> {
  const t = input.trim();
  if (t === "") return { ok: true, value: undefined };
  if (!/^\d*\.?\d*$/.test(t) || t === ".")
    return { ok: false, message: `"${t}" is not a percentage: use digits and at most one dot.` };
  const v = Number(t);
  return v > 100 ? { ok: false, message: "A percentage is at most 100." } : { ok: true, value: v / 100 };
}
