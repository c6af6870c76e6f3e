import {
  FIGURE_MIN_SAMPLES,
  type FigureSamples,
  formatDuration,
  LATENCY_GOOD_MS,
  LATENCY_HALF_MS,
} from "@postbox/protocol";
import { formatPct } from "./format";
import { type MailboxFigures, samplesOf } from "./prober";

export { FIGURE_MIN_SAMPLES };

/**
 * The prober's figures as a person should read them: each with the number of samples it rests
 * on, "new" until there are enough, and a tone (colour) that says whether the mailbox does its
 * job, never whether its score is low for reasons that are not faults (a young mailbox, a small
 * stake, a higher price).
 */

export type Tone = "good" | "fair" | "poor" | "new";

const SINGULAR = { probes: "probe", canaries: "canary" } as const;

/**
 * A figure with what it rests on: "100.0 % · 42 probes", "new · 3 probes", "— · after 24 h of
 * probes", "99.1 % · 420 probes · since 2 d 3 h", or "100.0 %" from a prober that sends no counts.
 */
export function figureText(
  value: number | null | undefined,
  samples: number | undefined,
  noun: "probes" | "canaries",
  note?: string,
): string {
  if (samples === undefined) return formatPct(value);
  const counted = `${samples} ${samples === 1 ? SINGULAR[noun] : noun}`;
  if (samples < FIGURE_MIN_SAMPLES) return `new · ${counted}`;
  if (value === null || value === undefined) return note ? `— · ${note}` : "—";
  return `${formatPct(value)} · ${counted}${note ? ` · ${note}` : ""}`;
}

const DAY = 86_400_000;

/**
 * A window's note: before the prober has watched a mailbox for `shown` it publishes no figure for
 * the window ("after 24 h of probes"); until it has watched it for the whole window, the figure
 * covers less ("since 2 d 3 h").
 */
function windowNote(
  value: number | null,
  windowMs: number,
  shownAfterMs: number,
  probedFor: number | undefined,
) {
  if (probedFor === undefined) return undefined;
  if (value === null) return `after ${formatDuration(shownAfterMs / 1000).replace(" 0 h", "")} of probes`;
  return probedFor < windowMs ? `since ${formatDuration(probedFor / 1000)}` : undefined;
}

/** The four figures of a mailbox as texts (uptime over three windows, canaries returned). */
export function figuresOf(
  m: MailboxFigures,
  nowMs: number = Date.now(),
): {
  samples: FigureSamples | undefined;
  uptime24h: string;
  uptime7d: string;
  uptime30d: string;
  canaries: string;
} {
  const s = samplesOf(m);
  const since = typeof m.probedSince === "number" ? m.probedSince : undefined;
  const probedFor = since === undefined ? undefined : Math.max(0, nowMs - since);
  return {
    samples: s,
    uptime24h: figureText(
      m.uptime24h,
      s?.probes24h,
      "probes",
      probedFor !== undefined && probedFor < DAY && m.uptime24h !== null
        ? `since ${formatDuration(probedFor / 1000)}`
        : undefined,
    ),
    uptime7d: figureText(m.uptime7d, s?.probes7d, "probes", windowNote(m.uptime7d, 7 * DAY, DAY, probedFor)),
    uptime30d: figureText(
      m.uptime30d,
      s?.probes30d,
      "probes",
      windowNote(m.uptime30d, 30 * DAY, 7 * DAY, probedFor),
    ),
    canaries: figureText(m.completeness, s?.canaries7d ?? m.canariesExpected, "canaries"),
  };
}

/** Shares at or above which a figure reads as good, and below which it reads as poor. */
export const TONE_GOOD = 0.99;
export const TONE_POOR = 0.95;

/**
 * The score's colour. The score says how close a mailbox comes to one with nothing to hold
 * against it (docs/methodology.md); its colour says whether what was *measured* holds something
 * against it — being young, a modest stake or a higher price lower the score and the chance to be
 * drawn, but are no fault. So: "new" (neutral) until the uptime rests on FIGURE_MIN_SAMPLES probes;
 * otherwise the worst of the uptime, canaries returned (once FIGURE_MIN_SAMPLES were checked) —
 * good from 99 %, poor below 95 % — and the median latency: fair above LATENCY_GOOD_MS, where the
 * score's latency factor starts to fall, poor above LATENCY_HALF_MS.
 *
 * The uptime is the 7-day one with its probes; the prober publishes none during a mailbox's first
 * 24 h of probes (`uptime7d` null), and then the 24-hour uptime with `samples.probes24h` is the
 * record: a mailbox is "new" for its first FIGURE_MIN_SAMPLES probes, not for its first day.
 */
export function scoreTone(m: MailboxFigures): Tone {
  const s = samplesOf(m);
  const weekly = m.uptime7d !== null && m.uptime7d !== undefined;
  const uptime = weekly ? m.uptime7d : m.uptime24h;
  // A prober that sends no counts: the probes its score used (7 days).
  const probes = (weekly ? s?.probes7d : s?.probes24h) ?? m.probesOk + m.probesFailed;
  const canaries = s?.canaries7d ?? m.canariesExpected;
  if (probes < FIGURE_MIN_SAMPLES || uptime === null) return "new";
  const shares = [uptime];
  if (canaries >= FIGURE_MIN_SAMPLES && m.completeness !== null) shares.push(m.completeness);
  const weakest = Math.min(...shares);
  const latency = m.latencyP50Ms ?? 0;
  if (weakest < TONE_POOR || latency > LATENCY_HALF_MS) return "poor";
  if (weakest < TONE_GOOD || latency > LATENCY_GOOD_MS) return "fair";
  return "good";
}

/** The score as shown: three decimals, or "new"; with its tone and a sentence for its title. */
export function scoreLabel(m: MailboxFigures): { text: string; tone: Tone; title: string } {
  const tone = scoreTone(m);
  if (tone === "new")
    return {
      text: "new",
      tone,
      title: `Fewer than ${FIGURE_MIN_SAMPLES} probes so far: score ${m.score.toFixed(3)} rests mostly on the prior.`,
    };
  const why =
    tone === "good"
      ? "uptime and canaries returned at least 99 %, answers within half a second"
      : tone === "fair"
        ? "uptime or canaries returned below 99 %, or answers slower than half a second"
        : "uptime or canaries returned below 95 %, or answers slower than a second";
  return { text: m.score.toFixed(3), tone, title: `Score ${m.score.toFixed(3)}: ${why}.` };
}
