// The mailbox's DisputeWatcher on Hardhat's chain with the real Disputes contract and a real SQLite
// archive: it names its evidence key once, copies a disputed envelope out of the archive at once,
// retries an answer that failed (the operator had no gas), still answers after retention deleted the
// envelope from the archive, and a restarted watcher (a new process on the same data folder) picks
// up a dispute the previous one had found.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { disputesAbi, mailboxRegistryAbi, sntAbi } from "@postbox/contracts";
import { DISPUTES_FILE, DisputeWatcher, EvidenceSigner, SqliteArchive } from "@postbox/node";
import { createEnvelope, receiptFor } from "@postbox/protocol";
import { network } from "hardhat";
import { pino } from "pino";
import { bytesToHex, encodeFunctionData, type Hex, parseEther } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { postboxChain } from "../support/chain.js";

const State = { Open: 1, Answered: 2 } as const;

describe("the mailbox's dispute watcher", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-watcher-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names its key, keeps the disputed envelope aside, retries a failed answer, and survives a restart", async () => {
    const { viem, networkHelpers } = await network.connect();
    const fx = await postboxChain(viem);
    const { publicClient, operatorWallet, operator, addresses } = fx;
    const disputes = addresses.disputes!;
    const challenger = fx.wallets[3]!;
    await fx.send(
      challenger,
      addresses.snt,
      encodeFunctionData({ abi: sntAbi, functionName: "approve", args: [disputes, parseEther("100")] }),
    );
    const archive = new SqliteArchive({ path: ":memory:" });
    const logs: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
    const evidence = new EvidenceSigner({
      privateKey: generatePrivateKey(),
      operator,
      domain: { chainId: await publicClient.getChainId(), verifyingContract: disputes },
    });
    const watcher = (name: string) =>
      new DisputeWatcher({
        client: publicClient,
        wallet: operatorWallet,
        registry: addresses.registry,
        disputes,
        operator,
        evidenceSigner: evidence.address,
        archive,
        dataDir: dir,
        log: log.child({ watcher: name }),
      });
    const first = watcher("first");

    // Once registered, the watcher names the key, once.
    await first.runOnce();
    const signer = () =>
      publicClient.readContract({
        address: addresses.registry,
        abi: mailboxRegistryAbi,
        functionName: "evidenceSigner",
        args: [operator],
      });
    expect(await signer()).toBe(evidence.address);
    await first.runOnce();
    expect(logs.filter((l) => String(l.msg).startsWith("named this mailbox's evidence key"))).toHaveLength(1);

    /** Stores an envelope and opens a custody dispute over the mailbox's signed receipt for it. */
    const disputed = async (text: string) => {
      const now = (await publicClient.getBlock()).timestamp * 1000n;
      const envelope = createEnvelope({
        contentTopic: "/postbox/1/inbox-7/proto",
        payload: new TextEncoder().encode(text),
        timestamp: now,
      });
      await archive.insert([{ ...envelope, receivedAt: Number(now) }]);
      const receipt = receiptFor(operator, envelope, { storedAt: now + 1n, retainUntil: now + 86_400_000n });
      const signature = bytesToHex(evidence.receipt(receipt));
      await fx.send(
        challenger,
        disputes,
        encodeFunctionData({ abi: disputesAbi, functionName: "disputeCustody", args: [receipt, signature] }),
      );
      const id = await publicClient.readContract({
        address: disputes,
        abi: disputesAbi,
        functionName: "receiptDigest",
        args: [receipt],
      });
      return { envelope, id };
    };
    const state = async (id: Hex) =>
      (
        await publicClient.readContract({
          address: disputes,
          abi: disputesAbi,
          functionName: "getDispute",
          args: [id],
        })
      ).state;
    const kept = () =>
      JSON.parse(readFileSync(join(dir, DISPUTES_FILE), "utf8")) as { disputes: Record<Hex, unknown> };

    // The operator has no gas: the answer fails, is logged, and the envelope is already kept aside.
    const a = await disputed("first");
    const gas = await publicClient.getBalance({ address: operator });
    await networkHelpers.setBalance(operator, 0n);
    await first.runOnce();
    expect(await state(a.id)).toBe(State.Open);
    expect(logs.find((l) => l.msg === "answering a custody dispute failed; trying again")).toMatchObject({
      disputeId: a.id,
      attempt: 1,
    });
    expect(kept().disputes[a.id]).toMatchObject({ envelope: { payload: bytesToHex(a.envelope.payload) } });
    // Retention takes the envelope from the archive meanwhile.
    expect(await archive.prune({ maxAgeMs: 0 }, Date.now() + 86_400_000, 100)).toBe(1);
    expect(await archive.get(a.envelope.id)).toBeUndefined();
    // With gas again, the next pass answers from the copy, and drops it.
    await networkHelpers.setBalance(operator, gas);
    await first.runOnce();
    expect(await state(a.id)).toBe(State.Answered);
    expect(logs.find((l) => l.msg === "answered a custody dispute")).toMatchObject({ disputeId: a.id });
    expect(kept().disputes[a.id]).toBeUndefined();

    // A dispute found by one watcher, answered by the next one on the same folder (a restart).
    const b = await disputed("second");
    await networkHelpers.setBalance(operator, 0n);
    await first.runOnce();
    await first.stop();
    await archive.prune({ maxAgeMs: 0 }, Date.now() + 86_400_000, 100);
    await networkHelpers.setBalance(operator, gas);
    await watcher("second").runOnce();
    expect(await state(b.id)).toBe(State.Answered);
    expect(
      logs.filter((l) => l.msg === "answered a custody dispute").map((l) => [l.watcher, l.disputeId]),
    ).toEqual([
      ["first", a.id],
      ["second", b.id],
    ]);
    await archive.close();
  }, 60_000);
});
