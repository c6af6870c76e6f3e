// A reader who sent nothing proves, from a mailbox's own signed answers, that it withheld a
// message, and gets it slashed: the `postbox` binary as separate processes on a devnet (a real
// Hardhat chain with the Disputes contract, two paid mailbox processes, alpha and beta, each naming
// its evidence key). A sender posts three messages to a room through both mailboxes. Beta's archive
// then misfiles one of them under another topic (its row changed while beta runs): beta still says
// it holds it (presence, by id) but no history page on the room's topic returns it. The reader,
// catching up from both mailboxes (k = 2), sees the gap, asks beta for the envelope alone (a signed
// presence answer), then for that millisecond's page (which leaves it out again), keeps the proof
// and says so; `dispute omission` slashes beta at once (`Disputes.proveOmissionByPresence`),
// checked on-chain; alpha keeps its stake. A presence answer opens no custody dispute. Port band
// 24,000.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { disputesAbi, mailboxRegistryAbi, networkParameters, sntAbi } from "@postbox/contracts";
import { type Address, type Hex, zeroAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEV_KEYS, type Devnet, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";
import { expectArchiveHolds, misfileEnvelope, postboxCli } from "../support/postbox.ts";

const SENDER = 4;
const READER = 5;
const ROOM = "#withheld";
const P = networkParameters.local;

interface Listed {
  receipts: {
    envelopeId: string;
    mailbox: string;
    kind: string;
    disputable: boolean;
    omissionProof: boolean;
  }[];
}

describe("postbox dispute omission from a presence answer: a reader who sent nothing proves a withheld message", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-omission-cli-"));
  let net: Devnet;
  let alpha: Address;
  let beta: Address;
  let disputes: Address;
  const ids: Record<"a" | "b" | "c", string> = { a: "", b: "", c: "" };

  /** The CLI as `user` (a separate process, its own client folder), reading from both mailboxes. */
  const as = (user: number) =>
    postboxCli(() => ({
      POSTBOX_CLIENT_DIR: join(dir, `user-${user}`),
      POSTBOX_RPC_URL: net.rpc,
      POSTBOX_WALLET_KEY: DEV_KEYS[user]!,
      POSTBOX_CHANNEL_DEPOSIT: "50",
      POSTBOX_K: "2",
    }));
  const run = (user: number, args: string[]) => as(user).run(args);
  const cli = (user: number, args: string[], input?: string) => as(user).cli(args, input);
  const cliJson = <T>(user: number, args: string[]) => as(user).cliJson<T>(args);
  const read = <T>(address: Address, abi: unknown, functionName: string, args: readonly unknown[]) =>
    net.publicClient.readContract({ address, abi, functionName, args } as never) as Promise<T>;
  const stake = async (operator: Address) =>
    (await read<{ stake: bigint }>(net.addresses.registry, mailboxRegistryAbi, "getMailbox", [operator]))
      .stake;
  const balance = (user: number) =>
    read<bigint>(net.addresses.snt, sntAbi, "balanceOf", [net.wallet(user).account.address]);

  beforeAll(async () => {
    net = await startDevnet({
      dataDir: join(dir, "net"),
      basePort: await freePortBlock(24_000),
      mailboxes: [
        { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
        { name: "beta", operator: 2, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
      ],
      stdio: "ignore",
    });
    [alpha, beta] = net.mailboxes.map((m) => m.operator) as [Address, Address];
    disputes = net.addresses.disputes!;
    // Each mailbox names its evidence key itself once registered.
    await vi.waitFor(
      async () => {
        for (const operator of [alpha, beta])
          expect(
            await read<Address>(net.addresses.registry, mailboxRegistryAbi, "evidenceSigner", [operator]),
          ).not.toBe(zeroAddress);
      },
      { timeout: 20_000, interval: 250 },
    );
    // The reader follows the room before anything is sent; the sender posts through both mailboxes.
    await cli(READER, ["room", "join", ROOM]);
    await cli(SENDER, ["room", "join", ROOM]);
    for (const t of ["a", "b", "c"] as const) {
      const sent = await cliJson<{ id: string; state: string; storedBy?: string[] }>(SENDER, [
        "chat",
        "send",
        "--to",
        ROOM,
        `message ${t}`,
      ]);
      expect(sent.state).toBe("stored");
      ids[t] = sent.id;
    }
  }, 150_000);

  afterAll(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("messages confirmed by a presence answer keep its evidence, as pushed ones keep their receipts'", async () => {
    // Many messages at once: published over gossip and confirmed with presence queries, or pushed.
    await cli(SENDER, ["room", "join", "#confirmed"]);
    const many = JSON.parse(
      (await cli(SENDER, ["chat", "send", "--to", "#confirmed", "--stdin", "--json"], "one\ntwo\nthree\n"))
        .stdout,
    ) as { sent: number; confirmed: number; pushed: number };
    expect(many.sent).toBe(3);
    expect(many.confirmed + many.pushed).toBe(3);
    const kept = (await cliJson<Listed>(SENDER, ["dispute", "list"])).receipts.filter(
      (r) => !Object.values(ids).includes(r.envelopeId),
    );
    // Each confirmed message has the confirming mailbox's presence answer; each pushed one a receipt per mailbox.
    expect(kept.filter((r) => r.kind === "presence")).toHaveLength(many.confirmed);
    expect(kept.filter((r) => r.kind === "receipt")).toHaveLength(2 * many.pushed);
  }, 60_000);

  it("beta says it holds a message its pages leave out: the reader keeps the proof, and beta is slashed from it", async () => {
    // Both mailboxes hold all three (pushed to each); beta's archive misfiles a under another topic
    // while it runs: by id it still holds it.
    for (const m of net.mailboxes) expectArchiveHolds(m.dir, Object.values(ids));
    misfileEnvelope(net.mailboxes[1]!.dir, ids.a);
    const r = await cli(READER, ["chat", "read", ROOM]);
    // Every message arrives (alpha returned a), and the gap is named with the proof kept.
    for (const t of ["a", "b", "c"]) expect(r.stdout).toContain(`message ${t}`);
    expect(r.stderr).toMatch(
      /warning: mailbox \S+ did not return 1 message\(s\) another mailbox had \(1 it admits holding\)/,
    );
    const proof = r.stderr.match(
      /omission proof kept for ([0-9a-f]{64}) .*: postbox dispute omission \1 --mailbox (\S+)/,
    );
    expect(proof, r.stderr).not.toBeNull();
    expect(proof![1]).toBe(ids.a);

    const listed = await cliJson<Listed>(READER, ["dispute", "list"]);
    expect(listed.receipts).toEqual([
      expect.objectContaining({
        envelopeId: ids.a,
        kind: "presence",
        disputable: false,
        omissionProof: true,
      }),
    ]);
    // A presence answer opens no custody dispute.
    const custody = await run(READER, ["dispute", "custody", ids.a, "--yes"]);
    expect(custody.status).toBe(1);
    expect(custody.stderr).not.toMatch(/\n\s+at /);
    expect(custody.stderr.trim()).toMatch(/only presence answers are kept .* they open no custody dispute/);

    const [betaBefore, alphaBefore, readerBefore] = [
      await stake(beta),
      await stake(alpha),
      await balance(READER),
    ];
    const proved = await cliJson<{
      disputeId: Hex;
      state: string;
      operator: string;
      slashed: string;
      reward: string;
    }>(READER, ["dispute", "omission", ids.a, "--mailbox", proof![2]!]);
    expect(proved.state).toBe("upheld");
    expect(proved.operator.toLowerCase()).toBe(beta.toLowerCase());
    const slashed = (betaBefore * P.disputeSlashBps) / 10_000n;
    expect(BigInt(proved.slashed)).toBe(slashed);
    expect(await stake(beta)).toBe(betaBefore - slashed);
    expect(await stake(alpha)).toBe(alphaBefore);
    expect(await balance(READER)).toBe(readerBefore + BigInt(proved.reward));
    expect(BigInt(proved.reward)).toBe((slashed * P.slashRewardBps) / 10_000n);
    const record = await read<{ state: number; operator: Address; envelopeId: Hex }>(
      disputes,
      disputesAbi,
      "getDispute",
      [proved.disputeId],
    );
    expect(record.state).toBe(3); // Upheld
    expect(record.envelopeId).toBe(`0x${ids.a}`);
  }, 90_000);
});
