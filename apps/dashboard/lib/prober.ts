"use client";

import type {
  DisputeFigures,
  FigureSamples,
  MailboxInfo,
  MailboxMetadata,
  MailboxReport,
  SampleReport,
} from "@postbox/protocol";
import { useQuery } from "@tanstack/react-query";
import { settings } from "./env";

/**
 * One mailbox of the prober's report. The prober is another service (perhaps an older version)
 * and the metadata is whatever an operator wrote: read `samples`, `metadata` and `info` through
 * {@link samplesOf}, {@link metadataOf} and {@link infoOf}, which check every field's type.
 */
export type MailboxFigures = MailboxReport;
export type Sample = SampleReport;

const count = (x: unknown) =>
  typeof x === "number" && Number.isFinite(x) && x >= 0 ? Math.floor(x) : undefined;
const text = (x: unknown, max = 2_000) =>
  typeof x === "string" && x.trim() !== "" ? x.trim().slice(0, max) : undefined;
const record = (x: unknown) =>
  typeof x === "object" && x !== null ? (x as Record<string, unknown>) : undefined;

/** The sample counts, when the prober sends them (undefined otherwise). */
export function samplesOf(m: MailboxFigures): FigureSamples | undefined {
  const s = record(m.samples as unknown);
  const [probes24h, probes7d, probes30d, canaries7d] = [
    count(s?.probes24h),
    count(s?.probes7d),
    count(s?.probes30d),
    count(s?.canaries7d),
  ];
  if (
    probes24h === undefined ||
    probes7d === undefined ||
    probes30d === undefined ||
    canaries7d === undefined
  )
    return undefined;
  return { probes24h, probes7d, probes30d, canaries7d };
}

/**
 * The disputes the prober counted against the mailbox, when it sends them with the expected types
 * (undefined from a prober that predates them or follows no Disputes contract).
 */
export function disputesOf(m: MailboxFigures): DisputeFigures | undefined {
  const r = record(m.disputes as unknown);
  if (!r) return undefined;
  const [open, answered, upheld] = [count(r.open), count(r.answered), count(r.upheld)];
  const slashed = typeof r.slashed === "string" && /^\d{1,78}$/.test(r.slashed) ? r.slashed : undefined;
  const upheldAt = Array.isArray(r.upheldAt) ? r.upheldAt.map(count) : undefined;
  const last = r.lastUpheldAt === null ? null : count(r.lastUpheldAt);
  if (open === undefined || answered === undefined || upheld === undefined || slashed === undefined)
    return undefined;
  if (!upheldAt || upheldAt.some((x) => x === undefined) || last === undefined) return undefined;
  return { open, answered, upheld, slashed, upheldAt: upheldAt as number[], lastUpheldAt: last };
}

/** Why the prober could not read the mailbox's metadata (one line), if it says. */
export function metadataErrorOf(m: MailboxFigures): string | undefined {
  return text(m.metadataError as unknown, 300);
}

/** The mailbox's metadata: only non-empty strings, cut to a sane length; undefined if none. */
export function metadataOf(m: MailboxFigures): MailboxMetadata | undefined {
  const r = record(m.metadata as unknown);
  if (!r) return undefined;
  const out: MailboxMetadata = {};
  const name = text(r.name, 80);
  const description = text(r.description);
  const contact = text(r.contact, 200);
  const terms = text(r.terms, 500);
  const icon = text(r.icon, 500);
  if (name) out.name = name;
  if (description) out.description = description;
  if (contact) out.contact = contact;
  if (terms) out.terms = terms;
  if (icon) out.icon = icon;
  return Object.keys(out).length ? out : undefined;
}

/** The mailbox's info answer, when every field has the expected type. */
export function infoOf(m: MailboxFigures): MailboxInfo | undefined {
  const r = record(m.info as unknown);
  if (!r) return undefined;
  const version = text(r.version, 80);
  const n = {
    retentionSeconds: count(r.retentionSeconds),
    maxPageSize: count(r.maxPageSize),
    maxContentTopics: count(r.maxContentTopics),
    maxEnvelopeBytes: count(r.maxEnvelopeBytes),
    envelopes: count(r.envelopes),
    chainId: count(r.chainId),
    at: count(r.at) ?? 0,
  };
  if (version === undefined || typeof r.free !== "boolean") return undefined;
  if (Object.values(n).some((x) => x === undefined)) return undefined;
  return { version, free: r.free, ...(n as { [K in keyof typeof n]: number }) };
}

/**
 * A link target for text an operator wrote: https: and mailto: URLs only (anything else, such as
 * javascript: or http:, is shown as text). A bare e-mail address becomes a mailto: link.
 */
export function safeHref(value: string): string | undefined {
  const v = value.trim();
  if (/^[^\s@/:]+@[^\s@/:]+\.[^\s@/:]+$/.test(v)) return `mailto:${v}`;
  try {
    const u = new URL(v);
    return u.protocol === "https:" || u.protocol === "mailto:" ? u.href : undefined;
  } catch {
    return undefined;
  }
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${settings.proberUrl}${path}`, { cache: "no-store" });
  if (!res.ok) throw new Error(`the prober answered ${res.status}`);
  return ((await res.json()) as { report: T }).report;
}

/** Every mailbox with its measured figures; refreshed every 10 s. */
export function useMailboxes() {
  return useQuery({
    queryKey: ["prober", "mailboxes"],
    queryFn: () => get<{ generatedAt: number; mailboxes: MailboxFigures[] }>("/mailboxes"),
    refetchInterval: 10_000,
  });
}

export function useSamples(address: string, fromMs: number) {
  return useQuery({
    queryKey: ["prober", "samples", address, fromMs],
    queryFn: () =>
      get<{ samples: Sample[] }>(`/mailboxes/${address}/samples?from=${fromMs}&to=${Date.now()}`),
    refetchInterval: 15_000,
  });
}
