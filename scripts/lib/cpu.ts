import { readdirSync, readFileSync } from "node:fs";

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

/** CPU ticks per thread of a set of processes: `${label}|${tid}` → clock ticks (user + system). */
export type ThreadTicks = Map<string, number>;

/** The parent pid of a process, from /proc/PID/stat (undefined once it is gone). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** Every live process below `root` (children, grandchildren, …), from /proc (Linux). */
export function descendants(root: number): number[] {
  const pids = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const parent = new Map(pids.map((p) => [p, parentOf(p)]));
  return pids.filter((p) => {
    for (let at = parent.get(p); at !== undefined && at > 1; at = parent.get(at))
      if (at === root) return true;
    return false;
  });
}

/**
 * The CPU ticks of every thread of Chromium's processes below `root`, labelled by process type
 * (`--type=renderer`, `utility.network` and `utility.storage` (IndexedDB's backend), `gpu-process`;
 * `browser` without one) and thread: the renderer's
 * main thread, its Web Workers (`DedicatedWorker`), its thread pool (`ThreadPool…`: off-thread
 * compilation, garbage collection helpers, WebCrypto), and everything else.
 */
export function chromiumThreadTicks(root: number, executable: string): ThreadTicks {
  const out: ThreadTicks = new Map();
  for (const pid of descendants(root)) {
    try {
      // A child rewrites its command line into one string: "…/chromium --type=renderer …".
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      const exe = cmd.split(" ")[0] ?? "";
      if (exe !== executable && !exe.endsWith("/chromium") && !exe.endsWith("/chrome")) continue;
      const sub = /--utility-sub-type=(\w+)\./.exec(cmd)?.[1];
      const type = (/--type=(\S+)/.exec(cmd)?.[1] ?? "browser") + (sub ? `.${sub}` : "");
      if (type === "zygote") continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const thread =
          type !== "renderer"
            ? ""
            : Number(tid) === pid
              ? "main"
              : comm.startsWith("DedicatedWorker")
                ? "workers"
                : comm.startsWith("ThreadPool")
                  ? "threadPool"
                  : "other";
        out.set(`${type}${thread ? `.${thread}` : ""}|${pid}.${tid}`, Number(f[11]) + Number(f[12]));
      }
    } catch {
      // The process or thread ended between the listing and the read.
    }
  }
  return out;
}

/** CPU milliseconds per label between two readings (a thread that started in between counts from 0). */
export function cpuMsBetween(from: ThreadTicks, to: ThreadTicks): Record<string, number> {
  const by: Record<string, number> = {};
  for (const [key, ticks] of to) {
    const label = key.slice(0, key.indexOf("|"));
    by[label] = (by[label] ?? 0) + ((ticks - (from.get(key) ?? 0)) * 1000) / 100;
  }
  return by;
}
