import type { Address, Hex } from "viem";

/**
 * The local devnet's accounts (`npm start`, chain id 31337) and what each one is used for, so that
 * the devnet, the dashboard's wallet picker and the docs name them the same way.
 *
 * These are Hardhat's public development keys: anyone can spend from them. Never use them on a
 * real network.
 */

/** What `npm start` uses an account for. */
export type DevnetRole =
  /**
   * Deploys the contracts (the `Disputes` contract is the registry's only slasher and jailer) and
   * funds the others (never offered as a wallet).
   */
  | { kind: "deployer" }
  /** Operates (registers, stakes for) the named mailbox. */
  | { kind: "operator"; mailbox: string }
  /** The CLI user: the key in the `export` line of `npm start`'s summary. */
  | { kind: "cli" }
  /** The prober's key: it pays for canaries and signs the reports. */
  | { kind: "prober" }
  /** Funded and used by nothing: free to try things with. */
  | { kind: "free" };

export interface DevnetAccount {
  /** Index in Hardhat's list (0 is the deployer; `npm start`'s summary numbers them #1…#7). */
  index: number;
  address: Address;
  role: DevnetRole;
}

/** Hardhat's development keys #0…#7, as `npm start` uses them. */
export const DEVNET_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
] as const satisfies readonly Hex[];

/** The devnet accounts #0…#7 (addresses of {@link DEVNET_KEYS}) with their roles under `npm start`. */
export const DEVNET_ACCOUNTS: readonly DevnetAccount[] = [
  { index: 0, address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", role: { kind: "deployer" } },
  {
    index: 1,
    address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    role: { kind: "operator", mailbox: "alpha" },
  },
  {
    index: 2,
    address: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    role: { kind: "operator", mailbox: "beta" },
  },
  {
    index: 3,
    address: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    role: { kind: "operator", mailbox: "gamma" },
  },
  { index: 4, address: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", role: { kind: "cli" } },
  { index: 5, address: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", role: { kind: "free" } },
  { index: 6, address: "0x976EA74026E726554dB657fA54763abd0C3a0aa9", role: { kind: "prober" } },
  { index: 7, address: "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955", role: { kind: "free" } },
];

/** The role in words, as a wallet menu shows it next to "Devnet account #N". */
export function describeDevnetRole(role: DevnetRole): string {
  switch (role.kind) {
    case "deployer":
      return "deployed the contracts and funded the others";
    case "operator":
      return `operates mailbox ${role.mailbox}`;
    case "cli":
      return "the CLI user (npm start's export line)";
    case "prober":
      return "the prober's key (pays for canaries)";
    case "free":
      return "free";
  }
}
