import { resolve } from "node:path";
import type { NextConfig } from "next";

const root = resolve(import.meta.dirname, "..", "..");

const config: NextConfig = {
  // The workspace root: packages/* are linked from there.
  turbopack: { root },
  outputFileTracingRoot: root,
  reactStrictMode: true,
  // Tests build their own copy (their own chain and prober URLs are inlined at build time).
  distDir: process.env.POSTBOX_DASHBOARD_DIST ?? ".next",
  poweredByHeader: false,
};

export default config;
