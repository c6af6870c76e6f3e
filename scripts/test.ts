// `npm test`: every check and test suite of the repository, in order, with one summary.
// Usage: npm test [-- --only step,step] [-- --skip step,step]
// Steps: build, lint, typecheck, contracts (Solidity tests), vitest (package, contract and end-to-end
// tests in TypeScript). Every step runs even when an earlier one fails; the exit code is non-zero
// when anything failed, and the last line is `N passed, N failed`.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

interface Step {
  name: string;
  description: string;
  cmd: string;
  args: string[];
  /** Counts tests from the output; without it the step counts as one check. */
  count?: (output: string, code: number) => Counts;
  env?: Record<string, string>;
}

const argv = process.argv.slice(2);
const listArg = (flag: string) => {
  const i = argv.indexOf(flag);
  return i === -1 ? undefined : (argv[i + 1] ?? "").split(",").filter(Boolean);
};
const only = listArg("--only");
const skip = listArg("--skip") ?? [];

const scratch = mkdtempSync(join(tmpdir(), "postbox-test-"));
const vitestJson = join(scratch, "vitest.json");

function mochaStyle(output: string, code: number): Counts {
  const plain = stripAnsi(output);
  const num = (re: RegExp) => [...plain.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  const passed = num(/^\s*(\d+) passing/gm);
  let failed = num(/^\s*(\d+) failing/gm);
  if (code !== 0 && failed === 0) failed = 1; // a crash before the summary still fails
  return { passed, failed, skipped: num(/^\s*(\d+) (?:pending|skipped)/gm) };
}

function vitestCounts(_output: string, code: number): Counts {
  try {
    const r = JSON.parse(readFileSync(vitestJson, "utf8")) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
      numFailedTestSuites: number;
    };
    const failed =
      r.numFailedTests + (r.numFailedTests === 0 && code !== 0 ? Math.max(1, r.numFailedTestSuites) : 0);
    return { passed: r.numPassedTests, failed, skipped: r.numPendingTests + r.numTodoTests };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
  return s.replace(/\u001b\[[0-9;]*m/g, "");
}

const steps: Step[] = [
  {
    name: "build",
    description: "contracts, generated ABIs, TypeScript packages, dashboard",
    cmd: "node",
    args: ["scripts/build.ts"],
  },
  {
    name: "lint",
    description: "Biome (TypeScript) and solhint (Solidity)",
    cmd: "npm",
    args: ["run", "--silent", "lint"],
  },
  {
    name: "typecheck",
    description: "tsc over every package, script and test",
    cmd: "npm",
    args: ["run", "--silent", "typecheck"],
  },
  {
    name: "contracts",
    description: "Solidity unit, fuzz and invariant tests (Hardhat)",
    cmd: "hardhat",
    args: ["test", "solidity"],
    count: mochaStyle,
  },
  {
    name: "vitest",
    description: "TypeScript tests: packages, contracts over viem, end to end",
    cmd: "vitest",
    args: ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`],
    count: vitestCounts,
  },
];

function runStep(step: Step): Promise<{ code: number; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(step.cmd, step.args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? "1", ...step.env },
    });
    let output = "";
    const tee = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString();
      stream.write(chunk);
    };
    child.stdout.on("data", tee(process.stdout));
    child.stderr.on("data", tee(process.stderr));
    child.on("error", (err) => {
      output += String(err);
      resolve({ code: 127, output, ms: Date.now() - started });
    });
    child.on("close", (code) => resolve({ code: code ?? 1, output, ms: Date.now() - started }));
  });
}

const selected = steps.filter((s) => (!only || only.includes(s.name)) && !skip.includes(s.name));
const results: { step: Step; counts: Counts; ms: number }[] = [];
for (const step of selected) {
  console.log(`\n━━ ${step.name}: ${step.description}`);
  const { code, output, ms } = await runStep(step);
  const counts = step.count
    ? step.count(output, code)
    : { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 };
  if (step.count && code !== 0 && counts.failed === 0) counts.failed = 1;
  results.push({ step, counts, ms });
}
rmSync(scratch, { recursive: true, force: true });

console.log("\n━━ summary");
let passed = 0;
let failed = 0;
let skipped = 0;
for (const { step, counts, ms } of results) {
  passed += counts.passed;
  failed += counts.failed;
  skipped += counts.skipped;
  const mark = counts.failed === 0 ? "ok  " : "FAIL";
  const what = step.count ? `${counts.passed} passed, ${counts.failed} failed` : "check";
  console.log(`${mark} ${step.name.padEnd(10)} ${what.padEnd(24)} ${(ms / 1000).toFixed(1)}s`);
}
console.log(
  skipped ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`,
);
process.exitCode = failed === 0 && results.length > 0 ? 0 : 1;
