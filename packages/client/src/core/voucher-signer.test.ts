import { hashVoucher, signVoucher, voucherDigester } from "@postbox/protocol";
import { toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { browserCrypto } from "../platform/browser/crypto.js";
import { nodeCrypto } from "../platform/node/crypto.js";
import { native } from "../platform/node/secp256k1.js";
import { createVoucherSigner } from "./voucher-signer.js";

const domain = { chainId: 31337, verifyingContract: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" as const };

describe("createVoucherSigner", () => {
  it("computes the EIP-712 digest as viem does, for any amount and channel", () => {
    const digest = voucherDigester(domain);
    for (const amount of [0n, 1n, 255n, 256n, 10n ** 18n, (1n << 96n) - 1n]) {
      const v = { channelId: toHex(crypto.getRandomValues(new Uint8Array(32))), cumulativeAmount: amount };
      expect(toHex(digest(v))).toBe(hashVoucher(domain, v));
    }
    expect(() => digest({ channelId: toHex(new Uint8Array(32)), cumulativeAmount: 1n << 96n })).toThrow(
      /amount out of range/,
    );
    expect(() => digest({ channelId: "0x01", cumulativeAmount: 1n })).toThrow(/channel id/);
  });

  it("signs with the native libsecp256k1 on the platforms it ships prebuilt for", () => {
    if (process.platform === "linux" && process.arch === "x64") expect(native).toBeDefined();
  });

  it.each([
    ...(native ? [["native", nodeCrypto({ secp256k1: "native" })] as const] : []),
    ["wasm", nodeCrypto({ secp256k1: "wasm" })] as const,
    ["browser (@noble)", browserCrypto()] as const,
  ])("gives byte for byte the signature viem's signTypedData gives (%s)", async (_, crypto) => {
    for (let i = 0; i < 20; i++) {
      const key = generatePrivateKey();
      const sign = createVoucherSigner(key, domain, crypto);
      const v = {
        channelId: toHex(globalThis.crypto.getRandomValues(new Uint8Array(32))),
        cumulativeAmount: BigInt(i) * 10n ** 16n + 7n,
      };
      expect(toHex(sign(v))).toBe(await signVoucher(privateKeyToAccount(key), domain, v));
    }
  });
});
