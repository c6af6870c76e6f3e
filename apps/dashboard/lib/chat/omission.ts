import { formatSnt } from "@postbox/protocol";

/**
 * What the chat says when reading from k ≥ 2 mailboxes finds one leaving out messages another
 * returned, and of the omission proofs the client keeps (a mailbox's own signed answers: "I hold
 * it", then a page without it). Pure functions (no SDK): tested in Node.
 */

const count = (n: number) => n.toLocaleString("en-US");

/** A gap of one catch-up, as the conversation shows it. */
export interface GapNotice {
  id: number;
  at: number;
  /** The conversation it is written into (for the inbox: the one open), if any. */
  conversation: string | undefined;
  feed: string;
  /** The mailbox (its id: operator address or name). */
  mailbox: string;
  missing: number;
  omitted: number;
  proved: number;
  text: string;
}

/** "Mailbox beta did not return 1 message another mailbox had (1 it admits holding)". */
export function gapText(mailbox: string, missing: number, omitted: number): string {
  const n = missing + omitted;
  return `Mailbox ${mailbox} did not return ${count(n)} message${n === 1 ? "" : "s"} another mailbox had (${count(omitted)} it admits holding)`;
}

/**
 * The gaps a catch-up found, one notice per feed and mailbox that left something out; `label`
 * names a mailbox, `open` is the conversation open (where an inbox gap is written).
 */
export function gapNotices(
  results: readonly {
    feed: string;
    gaps: readonly {
      mailbox: string;
      missing: readonly string[];
      omitted: readonly string[];
      proved: readonly string[];
    }[];
  }[],
  label: (mailbox: string) => string,
  open: string | undefined,
  at: number,
  firstId: number,
): GapNotice[] {
  const out: GapNotice[] = [];
  for (const r of results)
    for (const g of r.gaps) {
      if (g.missing.length + g.omitted.length === 0) continue;
      out.push({
        id: firstId + out.length,
        at,
        conversation: r.feed === "inbox" ? open : r.feed,
        feed: r.feed,
        mailbox: g.mailbox,
        missing: g.missing.length,
        omitted: g.omitted.length,
        proved: g.proved.length,
        text: gapText(label(g.mailbox), g.missing.length, g.omitted.length),
      });
    }
  return out;
}

/** What a kept proof shows: the mailbox's promise it broke, what proving it does, and that it costs gas. */
export function proofText(mailbox: string, kind: "presence" | "receipt"): string {
  const broke =
    kind === "presence"
      ? `${mailbox} said it held this message and left it out again`
      : `${mailbox} gave a receipt for this message and left it out of a page`;
  return `An omission proof is kept: ${broke}. Proving it on-chain slashes ${mailbox}'s stake and pays you a reward; it costs gas.`;
}

/** The outcome of a proof upheld on-chain (the `DisputeUpheld` event), in words. */
export function provedText(
  mailbox: string,
  outcome: { slashed: bigint; reward: bigint; challenger: string; jailedUntil: bigint },
  me: string | undefined,
): string {
  const to = me && me.toLowerCase() === outcome.challenger.toLowerCase() ? "you" : outcome.challenger;
  const slash =
    outcome.slashed === 0n
      ? `${mailbox}'s stake was not slashed (its slash allowance for this period was used up)`
      : `${mailbox}'s stake was slashed by ${formatSnt(outcome.slashed)}`;
  const jail =
    outcome.jailedUntil > 0n
      ? `; it is jailed until ${new Date(Number(outcome.jailedUntil) * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`
      : "";
  return `Proved on-chain: ${slash}; ${formatSnt(outcome.reward)} reward paid to ${to}${jail}.`;
}

/**
 * The conversation a kept proof belongs to, by its envelope's topic: a room's or group's feed is
 * its conversation; the inbox's is `"inbox"` (shown in every direct conversation: which one is in
 * the sealed message); a topic no longer followed, none.
 */
export function proofConversation(
  topic: string,
  feeds: readonly { feed: string; topic: string }[],
): string | undefined {
  return feeds.find((f) => f.topic === topic)?.feed;
}

/** Whether a proof of `proofConversation` is shown in `conversation`. */
export function proofShownIn(proof: string | undefined, conversation: string): boolean {
  return proof === conversation || (proof === "inbox" && conversation.startsWith("dm:"));
}
