import { createRequire } from "node:module";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";
import { defineConfig } from "hardhat/config";

// Compile offline with the npm `solc` (wasm): Hardhat must not try to download a compiler.
// `solidity.version` must equal the installed `solc` package's version exactly.
const require = createRequire(import.meta.url);
const SOLC_VERSION: string = require("solc/package.json").version;
const SOLJSON_PATH = require.resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatToolboxViem],
  solidity: {
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: SOLJSON_PATH,
        settings: { optimizer: { enabled: true, runs: 10_000 }, viaIR: true, evmVersion: "cancun" },
      },
      production: {
        version: SOLC_VERSION,
        path: SOLJSON_PATH,
        settings: { optimizer: { enabled: true, runs: 10_000 }, viaIR: true, evmVersion: "cancun" },
      },
    },
  },
  paths: {
    sources: "contracts",
    tests: { solidity: "test/solidity", nodejs: "test/nodejs" },
  },
  test: {
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 32, failOnRevert: false },
    },
  },
  networks: {
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
    // `hardhat node` (the devnet's chain, scripts/lib/devnet.ts): a block on every transaction, as
    // by default, and also an empty one every 5 s, so that chain time follows wall time on a quiet
    // chain (price delays, unbonding and close grace count down in chain time).
    node: { type: "edr-simulated", mining: { auto: true, interval: 5_000 } },
  },
});
