import { BaseError } from "./errors.js";

/**
 * SNT amounts as people read and type them: one formatter and one parser for the CLI, the
 * dashboard, the demo and the scripts, so that "0.01 SNT" means the same everywhere.
 */

/** SNT has 18 decimals, like ether. */
export const SNT_DECIMALS = 18;
const UNIT = 10n ** BigInt(SNT_DECIMALS);

/**
 * The page prices are quoted for, everywhere (CLI `--max-page-cost`, the `mailboxes` table, the
 * dashboard, the score's price factor): a full page of 100 messages, the most one query returns.
 */
export const PRICE_REFERENCE_PAGE = 100;
/** How that page is named next to a price. */
export const PRICE_REFERENCE_LABEL = "per 100-message page";

export interface FormatSntOptions {
  /** Decimals shown at most (default 4); trailing zeros are dropped. */
  digits?: number;
  /** Append " SNT" (default true). */
  unit?: boolean;
  /** Group the whole part by thousands, "1,000" (default true). */
  group?: boolean;
}

/**
 * An amount in base units as "1,000 SNT", "0.01 SNT", "0.0002 SNT"; a positive amount too small
 * for `digits` decimals reads "< 0.0001 SNT", never "0 SNT". Digits beyond `digits` are cut, not
 * rounded, so a figure never reads higher than it is.
 */
export function formatSnt(amount: bigint | string, options: FormatSntOptions = {}): string {
  const { digits = 4, unit = true, group = true } = options;
  const value = BigInt(amount);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / UNIT;
  const frac = (abs % UNIT).toString().padStart(SNT_DECIMALS, "0").slice(0, digits).replace(/0+$/, "");
  const wholeText = group ? whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",") : whole.toString();
  const suffix = unit ? " SNT" : "";
  if (abs > 0n && whole === 0n && frac === "")
    return `${negative ? "> -" : "< "}${digits > 0 ? `0.${"0".repeat(digits - 1)}1` : "1"}${suffix}`;
  return `${negative ? "-" : ""}${wholeText}${frac ? `.${frac}` : ""}${suffix}`;
}

/** Why a typed amount was refused. */
export type AmountErrorReason =
  | "empty"
  | "separator"
  | "format"
  | "decimals"
  | "zero"
  | "too small"
  | "too large";

/** A typed amount is not a valid SNT amount, or is outside the allowed range. */
export class AmountError extends BaseError {
  override name = "AmountError" as const;
  readonly reason: AmountErrorReason;
  constructor(reason: AmountErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface ParseSntOptions {
  /** Refuse 0 (default false). */
  positive?: boolean;
  /** The smallest allowed amount (base units), and how to name it ("the minimum stake"). */
  min?: { amount: bigint; name: string };
  /** The largest allowed amount (base units), and how to name it ("your balance"). */
  max?: { amount: bigint; name: string };
}

/**
 * Parses "1500", "1500.25", ".5" into base units. Refuses, with a message a person can act on:
 * an empty field, a comma ("1,500" or "1,5": write 1500 or 1.5), anything but digits and one dot,
 * more than 18 decimals, and amounts outside `min`/`max`.
 */
export function parseSnt(input: string, options: ParseSntOptions = {}): bigint {
  const text = input.trim();
  if (text === "") throw new AmountError("empty", "Enter an amount.");
  if (text.includes(","))
    throw new AmountError(
      "separator",
      `Use a dot for decimals and no thousands separator (for example ${text.replace(/,(\d{3})(?!\d)/g, "$1").replace(",", ".")}).`,
    );
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === "" && (m[2] ?? "") === ""))
    throw new AmountError("format", `"${text}" is not an amount: use digits and at most one dot.`);
  const fracText = m[2] ?? "";
  if (fracText.length > SNT_DECIMALS)
    throw new AmountError("decimals", `SNT has at most ${SNT_DECIMALS} decimals.`);
  const value = BigInt(m[1] || "0") * UNIT + BigInt(fracText.padEnd(SNT_DECIMALS, "0") || "0");
  if (options.positive && value === 0n) throw new AmountError("zero", "Enter an amount above 0.");
  if (options.min && value < options.min.amount)
    throw new AmountError(
      "too small",
      `${capitalise(options.min.name)} is ${formatSnt(options.min.amount)}.`,
    );
  if (options.max && value > options.max.amount)
    throw new AmountError(
      "too large",
      `That is more than ${options.max.name} (${formatSnt(options.max.amount)}).`,
    );
  return value;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A duration in seconds as "2 d 3 h", "4 h 5 min", "3 min 20 s" or "42 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const r = s % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${r} s`;
  return `${r} s`;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * A duration as typed in settings and flags, in seconds: "30d", "12h", "90m", "45s", or a number
 * of seconds. Throws an `Error` saying what a duration looks like.
 */
export function parseDuration(v: string | number): number {
  if (typeof v === "number") return v;
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/i.exec(v.trim());
  if (!m) throw new Error(`"${v}" is not a duration (e.g. 30d, 12h, 90m, 45s)`);
  return Math.round(Number(m[1]) * (DURATION_UNITS[(m[2] || "s").toLowerCase()] ?? 1));
}
