// Custody disputes against a real mailbox process on a real JSON-RPC chain (`hardhat node`, the
// Disputes contract deployed by deployPostbox with a short response window): the mailbox names its
// evidence key in the registry by itself and signs receipts and history pages with it; an honest
// mailbox answers a custody dispute on its own within the window (the bond goes to its operator);
// a mailbox whose archive lost a receipted envelope (its row deleted) cannot answer and is slashed
// once the window has passed; evidence signed by another key, or relabelled to another operator, is
// refused by the protocol's check and by the contract. One chain and one mailbox for every case.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { multiaddr } from "@multiformats/multiaddr";
import { type ClientHost, createClientHost, pushEnvelope, queryStore } from "@postbox/client";
import {
  disputesAbi,
  MailboxStatus,
  mailboxRegistryAbi,
  networkParameters,
  sntAbi,
} from "@postbox/contracts";
import {
  checkPageCommitmentEvidence,
  checkReceiptEvidence,
  createEnvelope,
  type IdentifiedEnvelope,
  pageCommitmentFromWire,
  type Receipt,
  receiptFromWire,
  StatusCode,
  signReceipt,
} from "@postbox/protocol";
import { type Address, bytesToHex, encodeFunctionData, type Hex, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deployPostboxFixture, hardhatKey, startHardhatNode } from "../../scripts/lib/chain.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "packages", "cli", "bin", "postbox.js");
/** Short enough to wait out, long enough for a loaded machine's mailbox to answer (it polls every 2 s). */
const WINDOW = 15n;
const PARAMETERS = { ...networkParameters.local, responseWindow: WINDOW, jailTerm: 10n };
const STAKE = parseEther("2000");
const TOPIC = "/postbox/1/room-0123456789abcdef0123456789abcdef/proto";
/** `IDisputes.State`. */
const State = { Open: 1, Answered: 2, Upheld: 3 } as const;

describe("custody disputes against a real mailbox", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-disputes-"));
  const stops: (() => Promise<void>)[] = [];
  let mailbox: ChildProcess | undefined;
  const logs: Record<string, unknown>[] = [];
  afterAll(async () => {
    mailbox?.kill("SIGKILL");
    for (const stop of stops) await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let env: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => {
    env = await setUp();
  }, 120_000);

  async function setUp() {
    const port = await freePortBlock(8_000, 2);
    const node = await startHardhatNode(port);
    stops.push(node.stop);
    const { rpc, publicClient, wallet } = node;
    const operatorWallet = wallet(1);
    const challenger = wallet(3);
    const fixture = await deployPostboxFixture({
      publicClient,
      walletClient: wallet(0),
      initialSupply: parseEther("100000"),
      fund: [operatorWallet.account.address, wallet(2).account.address, challenger.account.address],
      fundEach: parseEther("10000"),
      parameters: PARAMETERS,
    });
    const a = fixture.addresses;
    const disputes = a.disputes!;
    for (const w of [operatorWallet, wallet(2)])
      await fixture.register(w, {
        peerId: `12D3KooWDisputes${w.account.address.slice(2, 8)}`,
        multiaddrs: [`/ip4/127.0.0.1/tcp/${port + 1}`],
        stake: STAKE,
        pricePerQuery: parseEther("0.01"),
        pricePerMessage: 0n,
        retentionSeconds: 30n * 86_400n,
      });
    await fixture.send(
      challenger,
      a.snt,
      encodeFunctionData({ abi: sntAbi, functionName: "approve", args: [disputes, parseEther("1000")] }),
    );
    const keyFile = join(dir, "operator.key");
    writeFileSync(keyFile, hardhatKey(1), { mode: 0o600 });
    const data = join(dir, "mailbox");
    // A paid mailbox's chain settings, free history (no channel needed to read a page).
    mailbox = spawn(
      process.execPath,
      [
        BIN,
        "node",
        "start",
        "--data-dir",
        data,
        "--listen",
        `/ip4/127.0.0.1/tcp/${port + 1}`,
        "--http-port",
        "0",
        "--rpc-url",
        rpc,
        "--chain-id",
        "31337",
        "--registry",
        a.registry,
        "--channels",
        a.channels,
        "--operator-key-file",
        keyFile,
        "--free",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let buf = "";
    mailbox.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) if (line.startsWith("{")) logs.push(JSON.parse(line));
    });
    const started = await vi.waitFor(
      () => {
        const l = logs.find((x) => x.msg === "mailbox started");
        if (!l) throw new Error("not started yet");
        return l as { peerId: string; evidenceSigner: Address; disputes: Address };
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(started.disputes).toBe(disputes);
    const operator = operatorWallet.account.address;
    const registry = <T>(functionName: string, args: readonly unknown[]) =>
      publicClient.readContract({
        address: a.registry,
        abi: mailboxRegistryAbi,
        functionName,
        args,
      } as never) as Promise<T>;
    const dispute = (id: Hex) =>
      publicClient.readContract({
        address: disputes,
        abi: disputesAbi,
        functionName: "getDispute",
        args: [id],
      });
    const host: ClientHost = await createClientHost();
    await host.start();
    stops.push(async () => {
      await host.stop();
    });
    const to = multiaddr(`/ip4/127.0.0.1/tcp/${port + 1}/p2p/${started.peerId}`);
    const domain = { chainId: 31337, verifyingContract: disputes };
    /** Pushes a fresh envelope; returns it with its receipt and the receipt's EIP-712 evidence. */
    const push = async (text: string) => {
      const envelope = createEnvelope({ contentTopic: TOPIC, payload: new TextEncoder().encode(text) });
      const r = await pushEnvelope(host, to, envelope);
      expect(r.evidence).toHaveLength(65);
      return { envelope, receipt: receiptFromWire(operator, envelope, r), evidence: bytesToHex(r.evidence!) };
    };
    const call = (functionName: string, args: readonly unknown[], from = challenger) =>
      fixture.send(from, disputes, encodeFunctionData({ abi: disputesAbi, functionName, args } as never));
    return {
      ...fixture,
      publicClient,
      a,
      disputes,
      domain,
      operator,
      other: wallet(2).account.address,
      challenger,
      started,
      registry,
      dispute,
      host,
      to,
      push,
      call,
      data,
      stake: async () => (await registry<{ stake: bigint }>("getMailbox", [operator])).stake,
    };
  }

  /** The dispute id of a receipt (its EIP-712 digest, as the contract computes it). */
  const idOf = (receipt: Receipt) =>
    env.publicClient.readContract({
      address: env.disputes,
      abi: disputesAbi,
      functionName: "receiptDigest",
      args: [receipt],
    });

  it("names its evidence key in the registry itself, and signs receipts and history pages with it", async () => {
    const { registry, operator, started, push, host, to, domain } = env;
    // The chain shows the signer before the mailbox logs it (after the transaction's receipt).
    await vi.waitFor(
      async () => {
        expect(await registry<Address>("evidenceSigner", [operator])).toBe(started.evidenceSigner);
        expect(
          logs.some(
            (l) =>
              l.msg === "named this mailbox's evidence key as the operator's evidence signer" &&
              typeof l.tx === "string",
          ),
        ).toBe(true);
      },
      { timeout: 20_000, interval: 250 },
    );
    const { envelope, receipt, evidence } = await push("kept, and shown");
    checkReceiptEvidence(domain, receipt, evidence, started.evidenceSigner);
    const q = { contentTopics: [TOPIC], timeStart: envelope.timestamp - 1_000n };
    const page = await queryStore(host, to, q);
    expect(page.status).toBe(StatusCode.OK);
    const commitment = pageCommitmentFromWire(operator, q, page)!;
    expect(commitment.ids).toContain(bytesToHex(envelope.id));
    checkPageCommitmentEvidence(domain, commitment, page.evidence!, started.evidenceSigner);
  });

  let lost: { envelope: IdentifiedEnvelope; receipt: Receipt; evidence: Hex; id: Hex };
  let kept: { receipt: Receipt; evidence: Hex; id: Hex } | undefined;
  it("opens a dispute over an envelope the archive then lost (its row deleted)", async () => {
    const { push, data, call, dispute } = env;
    const pushed = await push("stored, then lost");
    const db = new DatabaseSync(join(data, "archive.sqlite"));
    expect(Number(db.prepare("DELETE FROM envelopes WHERE id = ?").run(pushed.envelope.id).changes)).toBe(1);
    db.close();
    await call("disputeCustody", [pushed.receipt, pushed.evidence]);
    lost = { ...pushed, id: await idOf(pushed.receipt) };
    expect((await dispute(lost.id)).state).toBe(State.Open);
  });

  it("an honest mailbox answers a custody dispute on its own within the window: the bond goes to its operator", async () => {
    const { push, call, dispute, balance, operator, challenger, stake } = env;
    const { receipt, evidence } = await push("kept, and disputed");
    const [operatorBefore, challengerBefore, stakeBefore] = [
      await balance(operator),
      await balance(challenger.account.address),
      await stake(),
    ];
    const opened = await call("disputeCustody", [receipt, evidence]);
    const id = await idOf(receipt);
    kept = { receipt, evidence, id };
    const { deadline } = await dispute(id);
    await vi.waitFor(async () => expect((await dispute(id)).state).toBe(State.Answered), {
      timeout: Number(WINDOW) * 1000,
      interval: 250,
    });
    const answered = logs.find((l) => l.msg === "answered a custody dispute" && l.disputeId === id) as
      | { tx: Hex }
      | undefined;
    expect(answered?.tx).toMatch(/^0x[0-9a-f]{64}$/);
    const tx = await env.publicClient.getTransactionReceipt({ hash: answered!.tx });
    expect(tx.from.toLowerCase()).toBe(operator.toLowerCase());
    const answeredAt = (await env.publicClient.getBlock({ blockNumber: tx.blockNumber })).timestamp;
    expect(answeredAt).toBeLessThanOrEqual(deadline);
    expect(tx.blockNumber).toBeGreaterThan(opened.blockNumber);
    expect(await balance(operator)).toBe(operatorBefore + PARAMETERS.disputeBond);
    expect(await balance(challenger.account.address)).toBe(challengerBefore - PARAMETERS.disputeBond);
    expect(await stake()).toBe(stakeBefore);
  }, 30_000);

  it("refuses forged evidence: another key's signature, or a receipt relabelled to another operator", async () => {
    const { push, domain, started, publicClient, disputes, challenger, other } = env;
    const { receipt, evidence } = await push("for the forgers");
    const forger = privateKeyToAccount(generatePrivateKey());
    const forged = await signReceipt(forger, domain, receipt);
    expect(() => checkReceiptEvidence(domain, receipt, forged, started.evidenceSigner)).toThrow(/expected/);
    const simulate = (r: Receipt, signature: Hex) =>
      publicClient.simulateContract({
        account: challenger.account,
        address: disputes,
        abi: disputesAbi,
        functionName: "disputeCustody",
        args: [r, signature],
      });
    await expect(simulate(receipt, forged)).rejects.toThrow(/DisputesWrongSigner/);
    // The mailbox's real signature, claimed against another registered operator.
    const relabelled = { ...receipt, operator: other };
    expect(() => checkReceiptEvidence(domain, relabelled, evidence, started.evidenceSigner)).toThrow(
      /expected/,
    );
    await expect(simulate(relabelled, evidence)).rejects.toThrow(/DisputesWrongSigner/);
    // The genuine receipt still opens (and is answered later by the mailbox; not waited for here).
    await simulate(receipt, evidence);
  });

  it("a mailbox that lost a receipted envelope is slashed after the window, and jailed", async () => {
    const { call, dispute, balance, challenger, stake, registry, operator, publicClient } = env;
    const { deadline } = await dispute(lost.id);
    // It saw the dispute and said it cannot answer.
    await vi.waitFor(
      () =>
        expect(
          logs.some(
            (l) =>
              l.disputeId === lost.id &&
              l.msg === "custody dispute over an envelope the archive does not hold: it cannot be answered",
          ),
        ).toBe(true),
      { timeout: 10_000, interval: 250 },
    );
    await vi.waitFor(
      async () => expect((await publicClient.getBlock()).timestamp).toBeGreaterThan(deadline),
      {
        timeout: Number(WINDOW + 10n) * 1000,
        interval: 500,
      },
    );
    expect((await dispute(lost.id)).state).toBe(State.Open);
    const [challengerBefore, stakeBefore] = [await balance(challenger.account.address), await stake()];
    await call("finaliseCustody", [lost.id]);
    expect((await dispute(lost.id)).state).toBe(State.Upheld);
    const slashed = (stakeBefore * PARAMETERS.disputeSlashBps) / 10_000n;
    expect(await stake()).toBe(stakeBefore - slashed);
    const reward = (slashed * PARAMETERS.slashRewardBps) / 10_000n;
    expect(await balance(challenger.account.address)).toBe(
      challengerBefore + PARAMETERS.disputeBond + reward,
    );
    expect((await registry<{ status: number }>("getMailbox", [operator])).status).toBe(MailboxStatus.Jailed);
    // The mailbox hears the outcome and drops the dispute.
    await vi.waitFor(
      () =>
        expect(logs.some((l) => l.disputeId === lost.id && l.msg === "custody dispute upheld")).toBe(true),
      { timeout: 10_000, interval: 250 },
    );
  }, 60_000);

  it("a challenger who disputed a kept envelope has lost the bond: after the window it can neither finalise nor dispute again", async () => {
    const { call, dispute, balance, challenger, publicClient } = env;
    if (!kept) throw new Error("the honest mailbox's case did not run");
    const { deadline, state } = await dispute(kept.id);
    expect(state).toBe(State.Answered);
    // Opened a few seconds after the lost envelope's, whose window the case above waited out.
    await vi.waitFor(
      async () => expect((await publicClient.getBlock()).timestamp).toBeGreaterThan(deadline),
      { timeout: Number(WINDOW + 10n) * 1000, interval: 500 },
    );
    const before = await balance(challenger.account.address);
    const simulate = (functionName: string, args: readonly unknown[]) =>
      publicClient.simulateContract({
        account: challenger.account,
        address: env.disputes,
        abi: disputesAbi,
        functionName,
        args,
      } as never);
    await expect(simulate("finaliseCustody", [kept.id])).rejects.toThrow(/DisputesNotOpen/);
    await expect(simulate("disputeCustody", [kept.receipt, kept.evidence])).rejects.toThrow(
      /DisputesAlreadyDisputed/,
    );
    await expect(call("finaliseCustody", [kept.id])).rejects.toThrow();
    expect((await dispute(kept.id)).state).toBe(State.Answered);
    expect(await balance(challenger.account.address)).toBe(before);
  }, 40_000);
});
