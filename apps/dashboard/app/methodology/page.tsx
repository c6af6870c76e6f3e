import {
  DEFAULT_SCORE_WEIGHTS,
  FACTOR_FLOOR,
  FIGURE_MIN_SAMPLES,
  LATENCY_GOOD_MS,
  LATENCY_HALF_MS,
  PRICE_REFERENCE_LABEL,
  SCORE_PRIOR,
  SELECTION_RATIO,
  STAKE_FACTOR_AT_MINIMUM,
  STAKE_FULL_MULTIPLE,
} from "@postbox/protocol";
import { TONE_GOOD, TONE_POOR } from "../../lib/figures";

export const metadata = { title: "How mailboxes are measured — Postbox" };

export default function MethodologyPage() {
  const w = DEFAULT_SCORE_WEIGHTS;
  return (
    <>
      <h1>How mailboxes are measured</h1>
      <div className="card">
        <h2>What the prober does</h2>
        <ul>
          <li>Follows the registry's events: registrations, price announcements, stake, exits.</li>
          <li>
            Every minute, for each active mailbox: a libp2p ping and <code>/postbox/info/1</code>. One probe
            sample: ok, and its latency.
          </li>
          <li>
            Every few minutes: a <strong>canary</strong> — a fresh envelope on a topic that looks like any
            room's — pushed to the mailbox, then bought back later with a paid query through the prober's own
            channel. A mailbox that answers pings but loses or withholds envelopes loses canaries.
          </li>
          <li>Samples are kept in SQLite; every report is signed by the prober's key.</li>
        </ul>
      </div>
      <div className="card">
        <h2>The figures</h2>
        <ul>
          <li>Uptime 24 h / 7 d / 30 d: successful probes ÷ probes in the window.</li>
          <li>Latency p50 and p90: of successful probes over 24 h.</li>
          <li>Canary completeness: canaries returned ÷ canaries checked over 7 days.</li>
          <li>
            Each figure is shown with the number of samples it rests on ("100.0 % · 42 probes"), and as{" "}
            <strong>new</strong> until it rests on {FIGURE_MIN_SAMPLES} samples.
          </li>
          <li>
            The score's colour says whether the mailbox does its job: the weaker of its 7-day uptime and
            canaries returned is <span className="good">good</span> from {TONE_GOOD * 100} %,{" "}
            <span className="fair">fair</span> from {TONE_POOR * 100} % and <span className="poor">poor</span>{" "}
            below; a median latency above {LATENCY_GOOD_MS} ms makes it fair at best, above {LATENCY_HALF_MS}{" "}
            ms poor; a mailbox with fewer than {FIGURE_MIN_SAMPLES} probes is <span className="new">new</span>
            . A low stake or a higher price lowers the score (and the chance to be chosen), not the colour.
          </li>
        </ul>
      </div>
      <div className="card">
        <h2>The score</h2>
        <p>
          <code>
            score = availability<sup>{w.availability}</sup> · latency<sup>{w.latency}</sup> · completeness
            <sup>{w.completeness}</sup> · stake<sup>{w.stake}</sup> · price<sup>{w.price}</sup>
          </code>
        </p>
        <ul>
          <li>
            Availability and completeness: (ok + {SCORE_PRIOR.successes}) ÷ (ok + failed +{" "}
            {SCORE_PRIOR.successes + SCORE_PRIOR.failures}) — a Beta({SCORE_PRIOR.successes},{" "}
            {SCORE_PRIOR.failures}) prior, so a new mailbox starts at 0.9.
          </li>
          <li>
            Latency: 1 up to a median of {LATENCY_GOOD_MS} ms, then {LATENCY_GOOD_MS} ÷ p50 ms (half at{" "}
            {LATENCY_HALF_MS} ms); 1 while never measured.
          </li>
          <li>
            Stake: {STAKE_FACTOR_AT_MINIMUM} at the registry's minimum, + 0.1 · log₁₀(stake ÷ minimum), 1 from{" "}
            {STAKE_FULL_MULTIPLE} × the minimum.
          </li>
          <li>Price: the median price {PRICE_REFERENCE_LABEL} ÷ this mailbox's, at most 1.</li>
          <li>
            Every factor is clamped to [{FACTOR_FLOOR}, 1]; a mailbox with nothing to hold against it scores
            1. Clients draw among the best quarter and every mailbox within {SELECTION_RATIO * 100} % of the
            best score, weighted by score.
          </li>
        </ul>
        <p className="muted">The full text is docs/methodology.md in the repository.</p>
      </div>
    </>
  );
}
