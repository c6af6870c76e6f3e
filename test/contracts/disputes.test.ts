// The disputes contract on Hardhat's simulated chain, fed with evidence signed by @postbox/protocol's
// helpers over real envelopes from createEnvelope: TypeScript and Solidity agree on the envelope id
// (the canonical bytes), the EIP-712 digests and the signatures; a custody dispute runs to a slash,
// an answered one pays the operator, and an omission proof slashes at once, from a receipt or from
// a presence answer.

import {
  disputesAbi,
  disputesBytecode,
  mailboxRegistryAbi,
  proveOmissionByPresence,
  proveOmissionByPresenceRequest,
  readMailboxDisputes,
  sntAbi,
} from "@postbox/contracts";
import {
  createEnvelope,
  envelopeArgs,
  hashPageCommitment,
  hashPresence,
  hashReceipt,
  NO_CURSOR,
  type PageCommitment,
  type Presence,
  receiptFor,
  signPageCommitment,
  signPresence,
  signReceipt,
} from "@postbox/protocol";
import { network } from "hardhat";
import { bytesToHex, encodeFunctionData, getContractAddress, type Hex, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { postboxChain } from "../support/chain.js";

const BOND = parseEther("10");
const WINDOW = 60n; // below the local unbonding period (120 s)
const SLASH_BPS = 500n;
const JAIL = 60n;

/** The fixture with the real disputes contract: the registry names the address wallet 8 gives its
 * first contract, and wallet 8 then deploys Disputes there (its constructor checks the registry). */
async function chain() {
  const { viem, networkHelpers } = await network.connect();
  const wallets = await viem.getWalletClients();
  const deployerOfDisputes = wallets[8]!;
  const publicClient = await viem.getPublicClient();
  const predicted = getContractAddress({
    from: deployerOfDisputes.account.address,
    nonce: BigInt(await publicClient.getTransactionCount({ address: deployerOfDisputes.account.address })),
  });
  const fixture = await postboxChain(viem, { disputes: predicted });
  const hash = await deployerOfDisputes.deployContract({
    abi: disputesAbi,
    bytecode: disputesBytecode,
    args: [fixture.addresses.registry, BOND, WINDOW, SLASH_BPS, JAIL],
  });
  const deployed = await publicClient.waitForTransactionReceipt({ hash });
  expect(deployed.contractAddress?.toLowerCase()).toBe(predicted.toLowerCase());
  const disputes = predicted;
  const domain = { chainId: await publicClient.getChainId(), verifyingContract: disputes };
  const evidenceKey = privateKeyToAccount(generatePrivateKey());
  await fixture.send(
    fixture.operatorWallet,
    fixture.addresses.registry,
    encodeFunctionData({
      abi: mailboxRegistryAbi,
      functionName: "setEvidenceSigner",
      args: [evidenceKey.address],
    }),
  );
  const challenger = wallets[3]!; // funded with 10,000 SNT by the fixture
  await fixture.send(
    challenger,
    fixture.addresses.snt,
    encodeFunctionData({ abi: sntAbi, functionName: "approve", args: [disputes, parseEther("1000")] }),
  );
  const read = <T>(functionName: string, args: readonly unknown[]) =>
    publicClient.readContract({
      address: disputes,
      abi: disputesAbi,
      functionName,
      args,
    } as never) as Promise<T>;
  const call = (wallet: typeof challenger, functionName: string, args: readonly unknown[]) =>
    fixture.send(wallet, disputes, encodeFunctionData({ abi: disputesAbi, functionName, args } as never));
  const stake = async () =>
    (
      await publicClient.readContract({
        address: fixture.addresses.registry,
        abi: mailboxRegistryAbi,
        functionName: "getMailbox",
        args: [fixture.operator],
      })
    ).stake;
  const nowMs = async () => (await publicClient.getBlock()).timestamp * 1000n;
  /** A real envelope and the operator's receipt for it, signed with the TypeScript helper. */
  const receipted = async (text: string) => {
    const t = await nowMs();
    const envelope = createEnvelope({
      contentTopic: "/postbox/1/room-0123456789abcdef0123456789abcdef/proto",
      payload: new TextEncoder().encode(text),
      timestamp: t,
    });
    const receipt = receiptFor(fixture.operator, envelope, {
      storedAt: t + 5n,
      retainUntil: t + 86_400_000n,
    });
    return { envelope, receipt, signature: await signReceipt(evidenceKey, domain, receipt) };
  };
  return {
    ...fixture,
    networkHelpers,
    disputes,
    domain,
    evidenceKey,
    challenger,
    read,
    call,
    stake,
    nowMs,
    receipted,
  };
}

describe("disputes: TypeScript evidence accepted on-chain", () => {
  it("the contract's envelope id and digests equal @postbox/protocol's", async () => {
    const { read, domain, receipted, evidenceKey, operator, nowMs } = await chain();
    const { envelope, receipt } = await receipted("x".repeat(1024));
    expect(await read<Hex>("envelopeId", [envelopeArgs(envelope)])).toBe(bytesToHex(envelope.id));
    expect(await read<Hex>("receiptDigest", [receipt])).toBe(hashReceipt(domain, receipt));
    const t = await nowMs();
    const commitment: PageCommitment = {
      operator,
      contentTopics: [envelope.contentTopic, "/postbox/1/inbox-12/proto"],
      timeStart: t - 60_000n,
      timeEnd: t + 60_000n,
      ids: [bytesToHex(envelope.id), `0x${"ab".repeat(32)}`],
      nextCursor: NO_CURSOR,
      servedAt: t + 1000n,
    };
    expect(await read<Hex>("commitmentDigest", [commitment])).toBe(hashPageCommitment(domain, commitment));
    expect(evidenceKey.address).toMatch(/^0x/);
  });

  it("an unanswered custody dispute runs to a slash: bond back plus the reward to the challenger", async () => {
    const {
      call,
      read,
      receipted,
      challenger,
      stake,
      balance,
      networkHelpers,
      publicClient,
      addresses,
      operator,
    } = await chain();
    const { receipt, signature } = await receipted("kept? no: lost");
    const before = await balance(challenger.account.address);
    const stakeBefore = await stake();
    await call(challenger, "disputeCustody", [receipt, signature]);
    expect(await balance(challenger.account.address)).toBe(before - BOND);
    const id = await read<Hex>("receiptDigest", [receipt]);
    expect((await read<{ state: number }>("getDispute", [id])).state).toBe(1); // Open
    await networkHelpers.time.increase(Number(WINDOW) + 1);
    await call(challenger, "finaliseCustody", [id]);
    const slashed = (stakeBefore * SLASH_BPS) / 10_000n;
    expect(await stake()).toBe(stakeBefore - slashed);
    const rewardBps = await publicClient.readContract({
      address: addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "slashRewardBps",
    });
    expect(await balance(challenger.account.address)).toBe(before + (slashed * rewardBps) / 10_000n);
    expect((await read<{ state: number }>("getDispute", [id])).state).toBe(3); // Upheld
    const m = await publicClient.readContract({
      address: addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailbox",
      args: [operator],
    });
    expect(m.status).toBe(3); // Jailed
  });

  it("an answered custody dispute pays the bond to the operator; a wrong envelope is refused", async () => {
    const {
      call,
      read,
      receipted,
      challenger,
      stake,
      balance,
      operatorWallet,
      operator,
      publicClient,
      disputes,
    } = await chain();
    const { envelope, receipt, signature } = await receipted("kept");
    await call(challenger, "disputeCustody", [receipt, signature]);
    const id = await read<Hex>("receiptDigest", [receipt]);
    const other = createEnvelope({
      contentTopic: envelope.contentTopic,
      payload: new Uint8Array([1]),
      timestamp: envelope.timestamp,
    });
    await expect(
      publicClient.simulateContract({
        account: operatorWallet.account,
        address: disputes,
        abi: disputesAbi,
        functionName: "answerCustody",
        args: [id, envelopeArgs(other)],
      }),
    ).rejects.toThrow(/DisputesWrongEnvelope/);
    const operatorBefore = await balance(operator);
    const stakeBefore = await stake();
    await call(operatorWallet, "answerCustody", [id, envelopeArgs(envelope)]);
    expect(await balance(operator)).toBe(operatorBefore + BOND);
    expect(await stake()).toBe(stakeBefore);
    expect((await read<{ state: number }>("getDispute", [id])).state).toBe(2); // Answered
  });

  it("an omission proof from a TypeScript-signed commitment slashes at once; evidence by another key is refused", async () => {
    const {
      call,
      receipted,
      challenger,
      stake,
      domain,
      evidenceKey,
      operator,
      nowMs,
      publicClient,
      disputes,
    } = await chain();
    const { envelope, receipt, signature } = await receipted("withheld");
    const t = await nowMs();
    const commitment: PageCommitment = {
      operator,
      contentTopics: [envelope.contentTopic],
      timeStart: envelope.timestamp - 30_000n,
      timeEnd: t + 30_000n,
      ids: [`0x${"cd".repeat(32)}`],
      nextCursor: NO_CURSOR,
      servedAt: receipt.storedAt + 1000n,
    };
    const forged = await signPageCommitment(privateKeyToAccount(generatePrivateKey()), domain, commitment);
    await expect(
      publicClient.simulateContract({
        account: challenger.account,
        address: disputes,
        abi: disputesAbi,
        functionName: "proveOmission",
        args: [commitment, forged, receipt, signature, envelopeArgs(envelope)],
      }),
    ).rejects.toThrow(/DisputesWrongSigner/);
    const commitmentSignature = await signPageCommitment(evidenceKey, domain, commitment);
    const stakeBefore = await stake();
    await call(challenger, "proveOmission", [
      commitment,
      commitmentSignature,
      receipt,
      signature,
      envelopeArgs(envelope),
    ]);
    expect(await stake()).toBe(stakeBefore - (stakeBefore * SLASH_BPS) / 10_000n);
  });

  it("an omission proof from a TypeScript-signed presence answer slashes at once; a presence served at the page's time is refused", async () => {
    const {
      read,
      receipted,
      challenger,
      stake,
      balance,
      domain,
      evidenceKey,
      operator,
      publicClient,
      disputes,
      addresses,
    } = await chain();
    // The envelope as the mailbox answered a presence query for it: listed among another id,
    // answered (servedAt, taken after the lookup) before the page that leaves it out.
    const { envelope } = await receipted("answered present, then withheld");
    const presence: Presence = {
      operator,
      ids: [`0x${"ef".repeat(32)}`, bytesToHex(envelope.id)],
      servedAt: envelope.timestamp + 500n,
      retainUntil: envelope.timestamp + 86_400_000n,
    };
    expect(await read<Hex>("presenceDigest", [presence])).toBe(hashPresence(domain, presence));
    const commitment: PageCommitment = {
      operator,
      contentTopics: [envelope.contentTopic],
      timeStart: envelope.timestamp - 30_000n,
      timeEnd: envelope.timestamp + 30_000n,
      ids: [`0x${"cd".repeat(32)}`],
      nextCursor: NO_CURSOR,
      servedAt: presence.servedAt + 1000n,
    };
    const commitmentSignature = await signPageCommitment(evidenceKey, domain, commitment);
    const proof = {
      disputes,
      commitment,
      commitmentSignature,
      presence,
      presenceSignature: await signPresence(evidenceKey, domain, presence),
      envelope: envelopeArgs(envelope),
    };
    // An honest mailbox that received the envelope only as it served the page (by sync, say).
    const late = { ...presence, servedAt: commitment.servedAt };
    await expect(
      publicClient.simulateContract({
        account: challenger.account,
        ...proveOmissionByPresenceRequest({
          ...proof,
          presence: late,
          presenceSignature: await signPresence(evidenceKey, domain, late),
        }),
      }),
    ).rejects.toThrow(/DisputesNotHeldWhenServed/);
    const stakeBefore = await stake();
    const balanceBefore = await balance(challenger.account.address);
    const outcome = await proveOmissionByPresence({ publicClient, walletClient: challenger }, proof);
    const slashed = (stakeBefore * SLASH_BPS) / 10_000n;
    expect(outcome.disputeId).toBe(hashPageCommitment(domain, commitment));
    expect(outcome.slashed).toBe(slashed);
    expect(outcome.bond).toBe(0n);
    expect(await stake()).toBe(stakeBefore - slashed);
    const rewardBps = await publicClient.readContract({
      address: addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "slashRewardBps",
    });
    expect(outcome.reward).toBe((slashed * rewardBps) / 10_000n);
    expect(await balance(challenger.account.address)).toBe(balanceBefore + outcome.reward);
    expect(
      (await readMailboxDisputes(publicClient, { disputes, operator })).map((d) => [d.kind, d.state]),
    ).toEqual([["omission", "upheld"]]);
    // The commitment proves once, by either path.
    await expect(
      publicClient.simulateContract({
        account: challenger.account,
        ...proveOmissionByPresenceRequest(proof),
      }),
    ).rejects.toThrow(/DisputesAlreadyDisputed/);
  });

  it("readMailboxDisputes lists a mailbox's disputes from the events: open, answered, upheld, omission", async () => {
    const {
      call,
      read,
      receipted,
      challenger,
      operatorWallet,
      networkHelpers,
      publicClient,
      disputes,
      domain,
      evidenceKey,
      operator,
      nowMs,
    } = await chain();
    const idOf = (r: unknown) => read<Hex>("receiptDigest", [r]);
    const lost = await receipted("never answered");
    await call(challenger, "disputeCustody", [lost.receipt, lost.signature]);
    const kept = await receipted("answered");
    await call(challenger, "disputeCustody", [kept.receipt, kept.signature]);
    await call(operatorWallet, "answerCustody", [await idOf(kept.receipt), envelopeArgs(kept.envelope)]);
    await networkHelpers.time.increase(Number(WINDOW) + 1);
    const finalise = await call(challenger, "finaliseCustody", [await idOf(lost.receipt)]);
    const pending = await receipted("still open");
    const opened = await call(challenger, "disputeCustody", [pending.receipt, pending.signature]);
    const withheld = await receipted("withheld");
    const t = await nowMs();
    const commitment: PageCommitment = {
      operator,
      contentTopics: [withheld.envelope.contentTopic],
      timeStart: withheld.envelope.timestamp - 30_000n,
      timeEnd: t + 30_000n,
      ids: [],
      nextCursor: NO_CURSOR,
      servedAt: withheld.receipt.storedAt + 1000n,
    };
    // The jail term from the upheld dispute does not stop a proof (an omission is upheld at once).
    const proof = await call(challenger, "proveOmission", [
      commitment,
      await signPageCommitment(evidenceKey, domain, commitment),
      withheld.receipt,
      withheld.signature,
      envelopeArgs(withheld.envelope),
    ]);
    const list = await readMailboxDisputes(publicClient, { disputes, operator });
    expect(list.map((d) => [d.kind, d.state])).toEqual([
      ["custody", "upheld"],
      ["custody", "answered"],
      ["custody", "open"],
      ["omission", "upheld"],
    ]);
    const [upheld, answered, open, omission] = list;
    expect(upheld!.id).toBe(await idOf(lost.receipt));
    expect(upheld!.envelopeId).toBe(bytesToHex(lost.envelope.id));
    expect(upheld!.slashed).toBeGreaterThan(0n);
    expect(upheld!.resolvedTx).toBe(finalise.transactionHash);
    expect(answered!.slashed).toBe(0n);
    expect(answered!.bond).toBe(BOND);
    expect(open!.openedTx).toBe(opened.transactionHash);
    expect(open!.resolvedTx).toBeNull();
    expect(omission!.id).toBe(hashPageCommitment(domain, commitment));
    expect(omission!.resolvedTx).toBe(proof.transactionHash);
    expect(omission!.challenger.toLowerCase()).toBe(challenger.account.address.toLowerCase());
    // Another operator has none.
    expect(
      await readMailboxDisputes(publicClient, { disputes, operator: challenger.account.address }),
    ).toEqual([]);
  });
});
