import {
  DEFAULT_SCORE_WEIGHTS,
  DISPUTE_HALF_LIFE_MS,
  DISPUTE_MEMORY_MS,
  DISPUTE_PENALTY,
  disputesFactor,
  FACTOR_FLOOR,
  FIGURE_MIN_SAMPLES,
  LATENCY_GOOD_MS,
  LATENCY_HALF_MS,
  latencyFactor,
  PRICE_REFERENCE_LABEL,
  PRICE_REFERENCE_PAGE,
  priceFactor,
  SCORE_PRIOR,
  SELECTION_RATIO,
  STAKE_FACTOR_AT_MINIMUM,
  STAKE_FULL_MULTIPLE,
  selectionChances,
  stakeFactor,
  withPrior,
} from "@postbox/protocol";
import { TONE_GOOD, TONE_POOR } from "../../lib/figures";

export const metadata = { title: "How mailboxes are measured — Postbox" };

/** A constant or a computed factor as text: at most `digits` decimals, no trailing zeros. */
const num = (x: number, digits = 3) => String(Number(x.toFixed(digits)));
const pct = (x: number, digits = 1) => `${num(x * 100, digits)} %`;

/** The draw's worked example: four mailboxes, one place. */
const EXAMPLE_SCORES = [0.9, 0.85, 0.7, 0.5] as const;

/**
 * The score and the draw as the client computes them (packages/protocol/src/score.ts, explained in
 * docs/methodology.md): every constant and every example below comes from @postbox/protocol, so
 * the page cannot drift from the code.
 */
export default function MethodologyPage() {
  const w = DEFAULT_SCORE_WEIGHTS;
  const prior = SCORE_PRIOR.successes + SCORE_PRIOR.failures;
  const step = num(1 - STAKE_FACTOR_AT_MINIMUM);
  const chances = selectionChances(EXAMPLE_SCORES, 1);
  const best = EXAMPLE_SCORES[0];
  const quarter = Math.ceil(EXAMPLE_SCORES.length / 4);
  const DAY_MS = 86_400_000;
  const halfLife = DISPUTE_HALF_LIFE_MS / DAY_MS;
  const disputeAt = (days: number) => num(disputesFactor([0], days * DAY_MS), 3);
  return (
    <>
      <h1>How mailboxes are measured</h1>
      <div className="card">
        <h2>What the prober does</h2>
        <ul>
          <li>
            Follows the registry's events: registrations, price announcements, stake, exits, jail terms.
          </li>
          <li>
            Follows the Disputes contract's events: custody disputes opened, answered or upheld, omissions
            proved; for each mailbox it reports how many are open, answered and upheld, and the SNT slashed.
          </li>
          <li>
            Every minute (by default), for each active mailbox: a libp2p ping and <code>/postbox/info/1</code>
            . One probe sample: ok when both answer in time and name the registered operator, and its latency.
          </li>
          <li>
            Every few minutes: a <strong>canary</strong> — a fresh envelope on a topic that looks like any
            room's — pushed to the mailbox, then bought back later with a paid query through the prober's own
            channel. A mailbox that answers pings but loses or withholds envelopes loses canaries; a canary
            still unanswered a day after its push is lost.
          </li>
          <li>Samples are kept in SQLite; every report is signed by the prober's key.</li>
        </ul>
      </div>
      <div className="card">
        <h2>The figures</h2>
        <ul>
          <li data-testid="figure-uptime">
            Uptime 24 h / 7 d / 30 d: successful probes ÷ probes in the window, or since the first probe when
            that is more recent. The 7-day uptime appears after 24 h of probes (before that it would only
            repeat the 24-hour one), the 30-day one after 7 days; until they cover their whole window they say
            since when ("since 3 d").
          </li>
          <li>Latency p50 and p90: of successful probes over 24 h (nearest rank).</li>
          <li>Canaries returned: canaries returned ÷ canaries settled over 7 days.</li>
          <li>
            The sparkline: the share of successful probes in each clock hour of the last 24 h (about 24
            points).
          </li>
          <li data-testid="figure-new">
            Each figure is shown with the number of samples it rests on ("100.0 % · 42 probes"), and as{" "}
            <strong>new</strong> until it rests on {FIGURE_MIN_SAMPLES} samples (probes of its window;
            canaries for canaries returned): the weight of the score's prior ({SCORE_PRIOR.successes} +{" "}
            {SCORE_PRIOR.failures}), from which on a mailbox's own samples count at least as much as the
            assumption it started on.
          </li>
          <li data-testid="figure-tone">
            The score's colour says whether the mailbox does its job: the weaker of its uptime (over 7 days,
            or over 24 h during its first day of probes) and its canaries returned (once {FIGURE_MIN_SAMPLES}{" "}
            were checked) is <span className="good">good</span> from {pct(TONE_GOOD, 0)},{" "}
            <span className="fair">fair</span> from {pct(TONE_POOR, 0)} and <span className="poor">poor</span>{" "}
            below; a median latency above {LATENCY_GOOD_MS} ms makes it fair at best, above {LATENCY_HALF_MS}{" "}
            ms poor. A mailbox whose uptime rests on fewer than {FIGURE_MIN_SAMPLES} probes is{" "}
            <span className="new">new</span>. A low stake or a higher price lowers the score (and the chance
            to be chosen), not the colour.
          </li>
        </ul>
      </div>
      <div className="card">
        <h2>The score</h2>
        <p>
          <code data-testid="score-formula">
            score = availability<sup>{w.availability}</sup> · latency<sup>{w.latency}</sup> · completeness
            <sup>{w.completeness}</sup> · stake<sup>{w.stake}</sup> · price<sup>{w.price}</sup> · disputes
            <sup>{w.disputes}</sup>
          </code>
        </p>
        <p>
          A mailbox with nothing to hold against it scores 1; each shortfall multiplies the score down by its
          factor raised to its weight. Every factor is clamped to [{FACTOR_FLOOR}, 1]: one bad figure lowers a
          mailbox, it does not erase it. An exiting or jailed mailbox scores 0.
        </p>
        <ul>
          <li data-testid="formula-availability">
            Availability: (ok + {SCORE_PRIOR.successes}) ÷ (ok + failed + {prior}) over the probes of 7 days —
            a Beta({SCORE_PRIOR.successes}, {SCORE_PRIOR.failures}) prior, so a new mailbox starts at{" "}
            {num(withPrior(0, 0))} and earns or loses its figure.
          </li>
          <li data-testid="formula-completeness">
            Completeness: (found + {SCORE_PRIOR.successes}) ÷ (expected + {prior}) over the canaries of 7
            days, the same prior.
          </li>
          <li data-testid="formula-latency">
            Latency: 1 up to a median (p50) of {LATENCY_GOOD_MS} ms; above it {LATENCY_GOOD_MS} ÷ p50 (
            {LATENCY_HALF_MS} ms: {num(latencyFactor(LATENCY_HALF_MS))}, {2 * LATENCY_HALF_MS} ms:{" "}
            {num(latencyFactor(2 * LATENCY_HALF_MS))}); 1 while never measured — no evidence against a
            mailbox.
          </li>
          <li data-testid="formula-stake">
            Stake: {STAKE_FACTOR_AT_MINIMUM} at the registry's minimum, rising by the same step for every
            doubling — {STAKE_FACTOR_AT_MINIMUM} + {step} · log(stake ÷ minimum) ÷ log {STAKE_FULL_MULTIPLE} —
            to 1 at {STAKE_FULL_MULTIPLE} × the minimum (2 ×: {num(stakeFactor(2n, 1n), 2)}, 5 ×:{" "}
            {num(stakeFactor(5n, 1n), 2)}); below the minimum {STAKE_FACTOR_AT_MINIMUM} · stake ÷ minimum.
          </li>
          <li data-testid="formula-price">
            Price: the median price of a {PRICE_REFERENCE_PAGE}-message page among the active mailboxes ÷ this
            mailbox's, at most 1 (twice the median: {num(priceFactor(2n, 1n))}); 1 for a free mailbox. Prices
            are compared {PRICE_REFERENCE_LABEL} at the price in force on-chain.
          </li>
          <li data-testid="formula-disputes">
            Disputes: each dispute upheld against the mailbox (it lost or withheld a message it had signed
            for, proved on-chain) multiplies the factor by 1 − {DISPUTE_PENALTY} · 2
            <sup>−age ÷ {halfLife} days</sup> — fresh: {disputeAt(0)}, {halfLife} days old:{" "}
            {disputeAt(halfLife)}, {3 * halfLife} days old: {disputeAt(3 * halfLife)}; forgotten after{" "}
            {DISPUTE_MEMORY_MS / DAY_MS} days. Open and answered disputes do not count: anyone can open one
            for a bond, and an answer proves the mailbox kept the message.
          </li>
        </ul>
        <p className="muted small">
          Weights: availability {w.availability}, latency {w.latency}, completeness {w.completeness}, stake{" "}
          {w.stake}, price {w.price}, disputes {w.disputes}. A client may take other weights.
        </p>
      </div>
      <div className="card">
        <h2>How clients choose</h2>
        <ol data-testid="draw-rule">
          <li>
            Candidates: the active mailboxes whose {PRICE_REFERENCE_PAGE}-message page costs no more than the
            user's cap, each scored as above (with the prober's figures when one is configured).
          </li>
          <li>A mailbox that failed twice in a row is set aside for an hour.</li>
          <li>
            The pool: every candidate scoring at least {pct(SELECTION_RATIO, 0)} of the best score, and the
            best quarter by score in any case (at least as many as the client needs, at least one).
          </li>
          <li>
            The draw, in proportion to score: for k places, each mailbox in the pool has the chance k · score
            ÷ (the pool's total score); one whose chance would exceed 1 is certain and the remaining places
            are shared the same way among the others. The client draws k distinct mailboxes with exactly these
            chances. A pinned mailbox takes one of the k places.
          </li>
          <li>The others, best score first, are the order to fail over in.</li>
        </ol>
        <p data-testid="draw-example">
          For example, four mailboxes scoring {EXAMPLE_SCORES.map((s) => num(s, 2)).join(", ")} and one place:
          the pool is the best quarter ({quarter}) and every score of at least{" "}
          {num(SELECTION_RATIO * best, 3)}, and the chances are {chances.map((c) => pct(c)).join(", ")}.
        </p>
        <p className="muted">The full text is docs/methodology.md in the repository.</p>
      </div>
    </>
  );
}
