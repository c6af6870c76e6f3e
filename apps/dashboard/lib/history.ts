/** Buckets samples into `bucketMs` windows: share ok and median latency per window. */
export function bucket(
  samples: { at: number; ok: boolean; latencyMs: number | null }[],
  bucketMs: number,
): { at: number; uptime: number; latencyMs: number | null }[] {
  const groups = new Map<number, { ok: number; n: number; lat: number[] }>();
  for (const s of samples) {
    const b = Math.floor(s.at / bucketMs) * bucketMs;
    const g = groups.get(b) ?? { ok: 0, n: 0, lat: [] };
    g.n++;
    if (s.ok) g.ok++;
    if (s.latencyMs !== null) g.lat.push(s.latencyMs);
    groups.set(b, g);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([at, g]) => {
      const lat = g.lat.sort((x, y) => x - y);
      return { at, uptime: g.ok / g.n, latencyMs: lat.length ? lat[Math.floor(lat.length / 2)]! : null };
    });
}
