// Vouchers signed in TypeScript (viem) against the PaymentChannels contract on Hardhat's simulated
// chain: what the contract accepts, the off-chain verifier in @postbox/protocol accepts, and every
// malformed or misdirected voucher is refused by both, for the same reason.

import { deployPostbox, networkParameters, openChannel, paymentChannelsAbi } from "@postbox/contracts";
import {
  computeChannelId,
  hashVoucher,
  InvalidVoucherError,
  signVoucher,
  type VoucherDomain,
  verifyVoucher,
} from "@postbox/protocol";
import { network } from "hardhat";
import { type Address, concatHex, type Hex, numberToHex, pad, parseEther, parseSignature, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { beforeAll, describe, expect, it } from "vitest";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe("vouchers: TypeScript signer and verifier against the contract", () => {
  let viem: Awaited<ReturnType<typeof network.connect>>["viem"];
  let payer: Address;
  let payee: Address;
  let addresses: Awaited<ReturnType<typeof deployPostbox>>;
  let domain: VoucherDomain;
  const session = privateKeyToAccount(generatePrivateKey());
  const stranger = privateKeyToAccount(generatePrivateKey());
  let channelId: Hex;
  let salt = 0;

  async function open(amount: bigint): Promise<Hex> {
    const [wallet] = await viem.getWalletClients();
    const s = pad(toHex(++salt), { size: 32 });
    const id = computeChannelId({ payer, payee, signer: session.address, salt: s });
    // Open through approveAndCall with the ABI-encoded `open` call as data.
    const opened = await openChannel(
      { publicClient: await viem.getPublicClient(), walletClient: wallet! },
      { ...addresses, payee, signer: session.address, deposit: amount, salt: s },
    );
    expect(opened.channelId).toBe(id);
    return id;
  }

  async function redeem(id: Hex, amount: bigint, signature: Hex) {
    const [, payeeWallet] = await viem.getWalletClients();
    const publicClient = await viem.getPublicClient();
    const hash = await payeeWallet!.writeContract({
      address: addresses.channels,
      abi: paymentChannelsAbi,
      functionName: "redeem",
      args: [id, amount, signature],
    });
    return publicClient.waitForTransactionReceipt({ hash });
  }

  beforeAll(async () => {
    ({ viem } = await network.connect());
    const [wallet, payeeWallet] = await viem.getWalletClients();
    payer = wallet!.account.address;
    payee = payeeWallet!.account.address;
    addresses = await deployPostbox({
      publicClient: await viem.getPublicClient(),
      walletClient: wallet!,
      parameters: networkParameters.local,
      initialSupply: parseEther("1000000"),
    });
    domain = { chainId: addresses.chainId, verifyingContract: addresses.channels };
    channelId = await open(parseEther("10"));
  });

  it("hashes vouchers exactly as the contract does", async () => {
    const publicClient = await viem.getPublicClient();
    const onChain = await publicClient.readContract({
      address: addresses.channels,
      abi: paymentChannelsAbi,
      functionName: "voucherDigest",
      args: [channelId, 123n],
    });
    expect(hashVoucher(domain, { channelId, cumulativeAmount: 123n })).toBe(onChain);
    const id = await publicClient.readContract({
      address: addresses.channels,
      abi: paymentChannelsAbi,
      functionName: "channelId",
      args: [payer, payee, session.address, pad(toHex(1), { size: 32 })],
    });
    expect(
      computeChannelId({ payer, payee, signer: session.address, salt: pad(toHex(1), { size: 32 }) }),
    ).toBe(id);
  });

  it("accepts a voucher signed with viem, on-chain and off-chain", async () => {
    const sig = await signVoucher(session, domain, { channelId, cumulativeAmount: parseEther("1") });
    await expect(
      verifyVoucher(domain, { channelId, cumulativeAmount: parseEther("1") }, sig, session.address),
    ).resolves.toBeUndefined();
    const receipt = await redeem(channelId, parseEther("1"), sig);
    expect(receipt.status).toBe("success");
  });

  async function expectBothReject(
    amount: bigint,
    signature: Hex,
    contractError: string,
    reason: string,
    signer = session.address,
  ) {
    await expect(
      verifyVoucher(domain, { channelId, cumulativeAmount: amount }, signature, signer),
    ).rejects.toSatisfy((e: unknown) => e instanceof InvalidVoucherError && e.reason === reason);
    await expect(redeem(channelId, amount, signature)).rejects.toThrow(contractError);
  }

  it("refuses a voucher by another key", async () => {
    const sig = await signVoucher(stranger, domain, { channelId, cumulativeAmount: parseEther("2") });
    await expectBothReject(parseEther("2"), sig, "PaymentChannelsInvalidSignature", "wrong signer");
  });

  it("refuses a voucher for another chain id", async () => {
    const other = { ...domain, chainId: domain.chainId + 1 };
    const sig = await signVoucher(session, other, { channelId, cumulativeAmount: parseEther("2") });
    await expectBothReject(parseEther("2"), sig, "PaymentChannelsInvalidSignature", "wrong signer");
  });

  it("refuses a voucher for another contract", async () => {
    const other = { ...domain, verifyingContract: addresses.registry };
    const sig = await signVoucher(session, other, { channelId, cumulativeAmount: parseEther("2") });
    await expectBothReject(parseEther("2"), sig, "PaymentChannelsInvalidSignature", "wrong signer");
  });

  it("refuses a voucher for another channel", async () => {
    const otherId = await open(parseEther("1"));
    const sig = await signVoucher(session, domain, { channelId: otherId, cumulativeAmount: parseEther("2") });
    await expectBothReject(parseEther("2"), sig, "PaymentChannelsInvalidSignature", "wrong signer");
  });

  it("refuses a high-s signature", async () => {
    const sig = await signVoucher(session, domain, { channelId, cumulativeAmount: parseEther("2") });
    const { r, s, v } = parseSignature(sig);
    const highS = numberToHex(N - BigInt(s), { size: 32 });
    const flipped = v === 27n ? 28 : 27;
    const malleated = concatHex([r, highS, numberToHex(flipped, { size: 1 })]);
    await expectBothReject(parseEther("2"), malleated, "PaymentChannelsInvalidSignature", "signature s");
  });

  it("refuses v in {0, 1}", async () => {
    const sig = await signVoucher(session, domain, { channelId, cumulativeAmount: parseEther("2") });
    const { r, s, v } = parseSignature(sig);
    const raw = concatHex([r, s, numberToHex(Number(v) - 27, { size: 1 })]);
    await expectBothReject(parseEther("2"), raw, "PaymentChannelsInvalidSignature", "signature v");
  });

  it("refuses a 64-byte (EIP-2098) signature", async () => {
    const sig = await signVoucher(session, domain, { channelId, cumulativeAmount: parseEther("2") });
    const { r, yParity, s } = parseSignature(sig);
    const vs = numberToHex(BigInt(s) | (BigInt(yParity ?? 0) << 255n), { size: 32 });
    await expectBothReject(
      parseEther("2"),
      concatHex([r, vs]),
      "PaymentChannelsInvalidSignature",
      "signature length",
    );
  });

  it("refuses signatures of the wrong length", async () => {
    const sig = await signVoucher(session, domain, { channelId, cumulativeAmount: parseEther("2") });
    await expectBothReject(
      parseEther("2"),
      concatHex([sig, "0x00"]),
      "PaymentChannelsInvalidSignature",
      "signature length",
    );
    await expectBothReject(parseEther("2"), "0x", "PaymentChannelsInvalidSignature", "signature length");
  });

  it("refuses amounts beyond uint96 off-chain as the contract cannot hold them", async () => {
    await expect(
      signVoucher(session, domain, { channelId, cumulativeAmount: 1n << 96n }),
    ).rejects.toBeInstanceOf(InvalidVoucherError);
  });
});
