import { addressesFor } from "@postbox/contracts";
import { type Address, defineChain } from "viem";

/** Chain settings from the environment (NEXT_PUBLIC_*), defaulting to `npm start`'s devnet. */
const chainId = Number(process.env.NEXT_PUBLIC_CHAIN_ID ?? 31337);
const rpcUrl = process.env.NEXT_PUBLIC_RPC_URL ?? "http://127.0.0.1:8545";
const known = addressesFor(chainId);

export const settings = {
  chainId,
  rpcUrl,
  proberUrl: process.env.NEXT_PUBLIC_PROBER_URL ?? "http://127.0.0.1:8787",
  registry: (process.env.NEXT_PUBLIC_REGISTRY ?? known?.registry) as Address,
  channels: (process.env.NEXT_PUBLIC_CHANNELS ?? known?.channels) as Address,
  snt: (process.env.NEXT_PUBLIC_SNT ?? known?.snt) as Address,
  fromBlock: BigInt(process.env.NEXT_PUBLIC_FROM_BLOCK ?? known?.fromBlock ?? 0n),
  /** The local devnet: offer its funded accounts as wallets. */
  devnet: chainId === 31337,
};

export const chain = defineChain({
  id: chainId,
  name: chainId === 31337 ? "Postbox devnet" : `Chain ${chainId}`,
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [rpcUrl] } },
});

/** Hardhat's public development accounts #1–#7 (funded by `npm start`; never use elsewhere). */
export const DEVNET_ACCOUNTS: Address[] = [
  "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
  "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
  "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
  "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
];
