import { formatDuration } from "@postbox/protocol";

// Amounts and durations: formatSnt and formatDuration from @postbox/protocol (one formatter for the
// CLI, the dashboard and the scripts). What is only the dashboard's lives here.

/** A share (0..1) as a percentage, "99.5 %"; an em dash when unknown. */
export function formatPct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : `${(x * 100).toFixed(digits)} %`;
}

export function formatMs(x: number | null | undefined): string {
  return x === null || x === undefined ? "—" : `${Math.round(x)} ms`;
}

/** "in 3 min 20 s" before `at`, "now" after (both in seconds since the epoch). */
export function countdown(at: number, now: number): string {
  return at <= now ? "now" : `in ${formatDuration(at - now)}`;
}

/** A chain time (seconds) as the reader's local date and time, "2025-06-01 14:03". */
export function formatTime(seconds: number | bigint): string {
  const d = new Date(Number(seconds) * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function shortAddress(a: string): string {
  return a.length > 12 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a;
}

/** Age of a registration (seconds since the epoch) relative to `now`. */
export function formatAge(registeredAt: number, now: number): string {
  return formatDuration(now - registeredAt);
}

/** The registry's statuses in words, in the contract's order (`MailboxStatus`). */
export const STATUS_WORDS = ["not registered", "active", "exiting", "jailed"] as const;

export function statusWord(status: number): string {
  return STATUS_WORDS[status] ?? `status ${status}`;
}
