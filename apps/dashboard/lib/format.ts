import { formatEther } from "viem";

/** An SNT amount (18 decimals) with at most `digits` decimals, trailing zeros dropped. */
export function formatSnt(amount: bigint | string, digits = 4): string {
  const s = formatEther(BigInt(amount));
  const [whole, frac = ""] = s.split(".");
  const cut = frac.slice(0, digits).replace(/0+$/, "");
  const small = BigInt(amount) > 0n && whole === "0" && cut === "";
  return small ? `< 0.${"0".repeat(digits - 1)}1` : cut ? `${whole}.${cut}` : (whole ?? "0");
}

/** A share (0..1) as a percentage; an em dash when unknown. */
export function formatPct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : `${(x * 100).toFixed(digits)}%`;
}

export function formatMs(x: number | null | undefined): string {
  return x === null || x === undefined ? "—" : `${Math.round(x)} ms`;
}

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

/** "in 3 min 20 s" before `at`, "now" after (both in seconds since the epoch). */
export function countdown(at: number, now: number): string {
  return at <= now ? "now" : `in ${formatDuration(at - now)}`;
}

export function shortAddress(a: string): string {
  return a.length > 12 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a;
}

/** A score in [0, 1] as three decimals, and a word for it. */
export function scoreLabel(score: number): { text: string; tone: "good" | "fair" | "poor" } {
  const tone = score >= 0.5 ? "good" : score >= 0.2 ? "fair" : "poor";
  return { text: score.toFixed(3), tone };
}

/** Age of a registration (seconds since the epoch) relative to `now`. */
export function formatAge(registeredAt: number, now: number): string {
  return formatDuration(now - registeredAt);
}
