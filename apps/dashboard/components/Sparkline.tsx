"use client";

import { Line, LineChart, YAxis } from "recharts";

/** Uptime per hour as a tiny line (0..1). */
export function Sparkline({ points }: { points: { at: number; uptime: number }[] }) {
  if (points.length === 0) return <span className="muted">—</span>;
  const data = points.length === 1 ? [points[0]!, points[0]!] : points;
  return (
    <LineChart width={90} height={24} data={data} aria-label="uptime per hour, last 24 h">
      <YAxis domain={[0, 1]} hide />
      <Line
        type="monotone"
        dataKey="uptime"
        stroke="#1a7f37"
        strokeWidth={1.5}
        dot={false}
        isAnimationActive={false}
      />
    </LineChart>
  );
}
