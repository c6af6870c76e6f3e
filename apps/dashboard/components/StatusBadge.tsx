import { statusWord } from "../lib/format";

const TONES = ["new", "good", "fair", "poor"] as const;

/** A registry status as a word with its colour: active, exiting, jailed (or not registered). */
export function StatusBadge({ status }: { status: number }) {
  return (
    <span className={`badge ${TONES[status] ?? "new"}`} data-testid="status-badge">
      {statusWord(status)}
    </span>
  );
}
