import { hashVoucher, InvalidVoucherError, signVoucher, verifyVoucher } from "@postbox/protocol";
import { type Hex, hexToBytes, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { nativeRecovery, VoucherVerifier } from "./voucher-verifier.js";

const domain = { chainId: 31337, verifyingContract: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" as const };
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** "ok", or the rule the voucher broke. */
const outcome = (check: Promise<void>): Promise<string> =>
  check.then(
    () => "ok",
    (err: unknown) => {
      if (err instanceof InvalidVoucherError) return err.reason;
      throw err;
    },
  );

const reference = (v: { channelId: Hex; cumulativeAmount: bigint }, sig: Uint8Array, signer: Hex) =>
  outcome(verifyVoucher(domain, v, toHex(sig), signer));

const fast = (
  verifier: VoucherVerifier,
  v: { channelId: Hex; cumulativeAmount: bigint },
  sig: Uint8Array,
  signer: Hex,
) => outcome(verifier.verify(v, sig, signer));

describe("VoucherVerifier (cached signer keys)", () => {
  it("computes the EIP-712 digest exactly as the protocol package (and the contract) does", () => {
    const verifier = new VoucherVerifier(domain);
    for (const amount of [0n, 1n, 10n ** 18n, (1n << 96n) - 1n]) {
      const v = {
        channelId: toHex(new Uint8Array(32).fill(Number(amount % 251n))),
        cumulativeAmount: amount,
      };
      expect(toHex(verifier.digest(v))).toBe(hashVoucher(domain, v));
    }
  });

  it("uses the native libsecp256k1 on the platforms it ships prebuilt for", () => {
    // A silent fall back to WebAssembly would cost ≈ 0.3 ms of CPU per paid page.
    if (process.platform === "linux" && process.arch === "x64") expect(nativeRecovery).toBe(true);
    if (!nativeRecovery)
      expect(() => new VoucherVerifier(domain, { recovery: "native" })).toThrow(/does not load/);
  });

  it.each([
    ...(nativeRecovery ? [["native", "native", 0] as const] : []),
    ["WebAssembly on worker threads", "wasm", 2],
    ["WebAssembly inline", "wasm", 0],
  ] as const)(
    "agrees with the contract-exact reference, rule for rule, on valid and mutated signatures, cold and warm (%s)",
    async (_, recovery, workers) => {
      const signer = privateKeyToAccount(generatePrivateKey());
      const other = privateKeyToAccount(generatePrivateKey());
      const verifier = new VoucherVerifier(domain, { recovery, workers });
      const channelId = toHex(new Uint8Array(32).fill(9));
      let agreed = 0;
      for (let i = 1; i <= 60; i++) {
        const v = { channelId, cumulativeAmount: BigInt(i) * 10n ** 15n };
        const good = hexToBytes(await signVoucher(signer, domain, v));
        const cases: Uint8Array[] = [good];
        const flipV = good.slice();
        flipV[64] = flipV[64] === 27 ? 28 : 27;
        cases.push(flipV);
        const highS = good.slice();
        const s = N - BigInt(toHex(good.subarray(32, 64)));
        highS.set(hexToBytes(toHex(s, { size: 32 })), 32);
        highS[64] = good[64] === 27 ? 28 : 27;
        cases.push(highS);
        const flipBit = good.slice();
        flipBit[i % 64]! ^= 1 << (i % 8);
        cases.push(flipBit);
        cases.push(hexToBytes(await signVoucher(other, domain, v)));
        cases.push(hexToBytes(await signVoucher(signer, { ...domain, chainId: 1 }, v)));
        const random = new Uint8Array(65);
        crypto.getRandomValues(random);
        random[64] = 27 + (i % 2);
        if (i % 3 === 0) random.fill(0xff, 0, 32); // r ≥ n
        cases.push(random);
        const vZero = good.slice();
        vZero[64] = good[64]! - 27;
        cases.push(vZero);
        for (const sig of cases) {
          const expected = await reference(v, sig, signer.address);
          expect(await fast(verifier, v, sig, signer.address)).toBe(expected);
          agreed++;
        }
      }
      expect(agreed).toBe(60 * 8);
      await verifier.close();
    },
  );

  it("refuses the wrong signer even when the expected signer's key is cached", async () => {
    const signer = privateKeyToAccount(generatePrivateKey());
    const other = privateKeyToAccount(generatePrivateKey());
    const verifier = new VoucherVerifier(domain);
    const v = { channelId: toHex(new Uint8Array(32).fill(1)), cumulativeAmount: 5n };
    await verifier.verify(v, hexToBytes(await signVoucher(signer, domain, v)), signer.address); // warms the cache
    const forged = hexToBytes(await signVoucher(other, domain, v));
    await expect(verifier.verify(v, forged, signer.address)).rejects.toThrow(/wrong signer/);
    await verifier.close();
  });
});
