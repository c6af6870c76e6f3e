import { resolve } from "node:path";
import type { NextConfig } from "next";

const root = resolve(import.meta.dirname, "..", "..");

const config: NextConfig = {
  // The workspace root: packages/* are linked from there.
  turbopack: { root },
  outputFileTracingRoot: root,
  reactStrictMode: true,
  // A build folder of its own (the benchmarks build one; settings are read at run time, lib/env.ts).
  distDir: process.env.POSTBOX_DASHBOARD_DIST ?? ".next",
  poweredByHeader: false,
};

export default config;
