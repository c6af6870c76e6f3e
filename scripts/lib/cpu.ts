import { readFileSync } from "node:fs";

/** All CPUs' jiffies from /proc/stat (Linux), to tell a saturated machine from a waiting one. */
export function machineTicks(): { idle: number; total: number } | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    return { idle: v[3]! + (v[4] ?? 0), total: v.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** The share of the machine's CPU time that was busy between two readings (NaN off Linux). */
export function busyShare(
  from: ReturnType<typeof machineTicks>,
  to: ReturnType<typeof machineTicks>,
): number {
  if (!from || !to) return Number.NaN;
  return 1 - (to.idle - from.idle) / (to.total - from.total);
}

/** CPU milliseconds (user + system, all threads) a process has used, from /proc (Linux). */
export function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after "pid (comm) ".
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}
