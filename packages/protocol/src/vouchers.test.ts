// The voucher signature's shape rules, once for both verifiers, and the fast digest. (Against the
// contract itself: test/contracts/vouchers.test.ts.)
import { bytesToHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { InvalidVoucherError } from "./errors.js";
import {
  checkVoucherSignature,
  hashVoucher,
  signVoucher,
  verifyVoucher,
  voucherDigester,
} from "./vouchers.js";

const domain = { chainId: 31337, verifyingContract: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" as const };
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const word = (x: bigint) => Uint8Array.from(Buffer.from(x.toString(16).padStart(64, "0"), "hex"));
const signature = (r: bigint, s: bigint, v: number) => new Uint8Array([...word(r), ...word(s), v]);

const reason = (f: () => unknown) => {
  try {
    f();
    return "ok";
  } catch (err) {
    if (err instanceof InvalidVoucherError) return err.reason;
    throw err;
  }
};

describe("checkVoucherSignature", () => {
  it.each([
    ["a 64-byte signature", new Uint8Array(64), "signature length"],
    ["a 66-byte signature", new Uint8Array(66), "signature length"],
    ["v = 0", signature(1n, 1n, 0), "signature v"],
    ["v = 29", signature(1n, 1n, 29), "signature v"],
    ["r = 0", signature(0n, 1n, 27), "malformed signature"],
    ["r = n", signature(N, 1n, 27), "malformed signature"],
    ["s = 0", signature(1n, 0n, 28), "malformed signature"],
    ["s just above n / 2", signature(1n, (N >> 1n) + 1n, 27), "signature s"],
    ["s = n", signature(1n, N, 27), "signature s"],
    ["r = n - 1, s = n / 2, v = 28", signature(N - 1n, N >> 1n, 28), "ok"],
  ])("%s: %s", (_, sig, expected) => {
    expect(reason(() => checkVoucherSignature(sig))).toBe(expected);
  });

  it("gives the recovery id", () => {
    expect(checkVoucherSignature(signature(1n, 1n, 27))).toBe(0);
    expect(checkVoucherSignature(signature(1n, 1n, 28))).toBe(1);
  });

  it("is the rule verifyVoucher applies, reason for reason", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const voucher = { channelId: `0x${"11".repeat(32)}` as Hex, cumulativeAmount: 10n };
    const good = Uint8Array.from(Buffer.from((await signVoucher(account, domain, voucher)).slice(2), "hex"));
    const cases = [
      good,
      good.subarray(0, 64),
      signature(0n, 1n, 27),
      signature(N + 5n, 1n, 28),
      signature(1n, N - 1n, 27),
      new Uint8Array([...good.subarray(0, 64), good[64]! - 27]),
    ];
    const reasons = [];
    for (const sig of cases) {
      const shape = reason(() => checkVoucherSignature(sig));
      const verified = await verifyVoucher(domain, voucher, bytesToHex(sig), account.address).then(
        () => "ok",
        (err: unknown) => (err as InvalidVoucherError).reason,
      );
      expect(verified).toBe(shape);
      reasons.push(shape);
    }
    expect(reasons).toEqual([
      "ok",
      "signature length",
      "malformed signature",
      "malformed signature",
      "signature s",
      "signature v",
    ]);
    await expect(verifyVoucher(domain, voucher, "0x1", account.address)).rejects.toThrow(
      /malformed signature/,
    );
  });
});

describe("voucherDigester", () => {
  it("computes the digest viem computes from voucherTypes (the type is written once)", () => {
    const digest = voucherDigester(domain);
    for (const amount of [0n, 1n, 10n ** 18n, (1n << 96n) - 1n]) {
      const voucher = {
        channelId: `0x${(amount % 251n).toString(16).padStart(64, "0")}` as Hex,
        cumulativeAmount: amount,
      };
      expect(bytesToHex(digest(voucher))).toBe(hashVoucher(domain, voucher));
    }
    expect(() => digest({ channelId: `0x${"00".repeat(32)}`, cumulativeAmount: 1n << 96n })).toThrow(
      InvalidVoucherError,
    );
  });
});
