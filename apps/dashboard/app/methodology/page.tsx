import {
  DEFAULT_SCORE_WEIGHTS,
  FACTOR_FLOOR,
  LATENCY_HALF_MS,
  SCORE_PRIOR,
  STAKE_FULL_MULTIPLE,
} from "@postbox/protocol";

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
            Latency: {LATENCY_HALF_MS} ÷ ({LATENCY_HALF_MS} + p50 ms).
          </li>
          <li>Stake: √(stake ÷ ({STAKE_FULL_MULTIPLE} × minimum stake)), at most 1.</li>
          <li>Price: the median price of a 50-message page ÷ this mailbox's, at most 1.</li>
          <li>
            Every factor is clamped to [{FACTOR_FLOOR}, 1]. Clients pick among the best quarter, weighted by
            score.
          </li>
        </ul>
        <p className="muted">The full text is docs/methodology.md in the repository.</p>
      </div>
    </>
  );
}
