// `postbox dispute …` from the evidence a real client kept: the `postbox` binary as separate
// processes, on a devnet (a real Hardhat chain with the Disputes contract, one paid mailbox
// process that names its evidence key itself). A user sends three messages to a room and keeps
// their receipts' evidence; the mailbox then loses two of them (their rows deleted from its
// archive while it runs); the user's catch-up keeps the page commitment that leaves them out;
// `dispute omission` slashes at once from it; `dispute custody` over the other is not answered,
// and `dispute finalise` after the window (chain time moved on) slashes, the bond back and the
// reward paid (all checked on-chain). Refusals: an unknown envelope, no covering commitment, a
// receipt past its retain_until, an early finalise, bad input. Port band 6,400.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { disputesAbi, mailboxRegistryAbi, networkParameters, sntAbi } from "@postbox/contracts";
import { type Address, type Hex, zeroAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEV_KEYS, type Devnet, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";
import { postboxCli } from "../support/postbox.ts";

const USER = 4;
const ROOM = "#disputes";
const P = networkParameters.local;
/** `IDisputes.State`. */
const State = { None: 0, Open: 1, Answered: 2, Upheld: 3 } as const;

interface Listed {
  chainTime: string;
  receipts: {
    envelopeId: string;
    mailbox: string;
    name?: string;
    disputable: boolean;
    why: string;
    omissionProof: boolean;
    retainUntil: number;
  }[];
  disputes: { id: Hex; kind: string; state: string; envelopeId: string | null; finalisable: boolean }[];
}

describe("postbox dispute: custody and omission from a client's kept evidence", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-dispute-cli-"));
  let net: Devnet;
  let operator: Address;
  let disputes: Address;
  const user = () => net.wallet(USER).account.address;

  /** The CLI as the user (a separate process). */
  const { run, cli, cliJson } = postboxCli(() => ({
    POSTBOX_CLIENT_DIR: join(dir, "user"),
    POSTBOX_RPC_URL: net.rpc,
    POSTBOX_WALLET_KEY: DEV_KEYS[USER]!,
    POSTBOX_CHANNEL_DEPOSIT: "50",
  }));
  /** A refusal: its exit code and one line on stderr (after `lines` of explanation), never a stack trace. */
  const refused = async (args: string[], code: number, message: RegExp, lines = 1) => {
    const r = await run(args);
    expect(r.status, r.stderr).toBe(code);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const said = r.stderr.trim().split("\n");
    expect(said, r.stderr).toHaveLength(lines);
    expect(said.at(-1)).toMatch(message);
    return said;
  };
  const list = () => cliJson<Listed>(["dispute", "list"]);

  const read = <T>(address: Address, abi: unknown, functionName: string, args: readonly unknown[]) =>
    net.publicClient.readContract({ address, abi, functionName, args } as never) as Promise<T>;
  const stake = async () =>
    (await read<{ stake: bigint }>(net.addresses.registry, mailboxRegistryAbi, "getMailbox", [operator]))
      .stake;
  const balance = () => read<bigint>(net.addresses.snt, sntAbi, "balanceOf", [user()]);
  const disputeState = async (id: Hex) =>
    (await read<{ state: number }>(disputes, disputesAbi, "getDispute", [id])).state;
  const advance = async (seconds: number) => {
    await net.publicClient.request({ method: "evm_increaseTime", params: [seconds] } as never);
    await net.publicClient.request({ method: "evm_mine", params: [] } as never);
  };

  /** The three messages' envelope ids, by text. */
  const sent: Record<"a" | "b" | "c", string> = { a: "", b: "", c: "" };

  beforeAll(async () => {
    net = await startDevnet({
      dataDir: join(dir, "net"),
      basePort: await freePortBlock(6_400),
      mailboxes: [{ name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" }],
      stdio: "ignore",
    });
    operator = net.mailboxes[0]!.operator;
    disputes = net.addresses.disputes!;
    // The mailbox names its evidence key itself once registered: evidence made before is not its.
    await vi.waitFor(
      async () =>
        expect(
          await read<Address>(net.addresses.registry, mailboxRegistryAbi, "evidenceSigner", [operator]),
        ).not.toBe(zeroAddress),
      { timeout: 15_000, interval: 250 },
    );
    await cli(["room", "join", ROOM]);
    // Three sends at once, each its own process (one client folder: SQLite, WAL).
    const results = await Promise.all(
      (["a", "b", "c"] as const).map((t) =>
        cliJson<{ id: string; state: string }>(["chat", "send", "--to", ROOM, `message ${t}`]),
      ),
    );
    for (const [i, t] of (["a", "b", "c"] as const).entries()) {
      expect(results[i]!.state).toBe("stored");
      sent[t] = results[i]!.id;
    }
  }, 120_000);

  afterAll(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps every receipt's evidence: listed per mailbox, disputable, no omission proof yet", async () => {
    const l = await list();
    expect(l.receipts.map((r) => r.envelopeId).sort()).toEqual(Object.values(sent).sort());
    for (const r of l.receipts) {
      expect(r).toMatchObject({
        mailbox: operator.toLowerCase(),
        name: "alpha",
        disputable: true,
        omissionProof: false,
      });
      expect(r.retainUntil).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    }
    expect(l.disputes).toEqual([]);
    const text = (await cli(["dispute", "list"])).stdout;
    expect(text).toContain(`mailbox alpha (${operator.toLowerCase()}): 3 receipts`);
  });

  it("refuses bad input, an unknown envelope, and an omission with no covering commitment, in one line", async () => {
    await refused(
      ["dispute", "custody", "deadbeefdeadbeef", "--yes"],
      1,
      /DisputeError: no receipt with evidence is kept for deadbeefdeadbeef/,
    );
    await refused(["dispute", "custody", "xyz"], 2, /an envelope id \(8 to 64 hex digits/);
    await refused(["dispute", "finalise", "0x1234"], 2, /a dispute id \(0x and 64 hex digits/);
    await refused(["dispute", "finalise", `0x${"ab".repeat(32)}`], 1, /DisputeError: no dispute 0xabab/);
    // Not a terminal and no --yes: nothing is paid.
    const said = await refused(["dispute", "custody", sent.a], 2, /confirm on a terminal, or add --yes/, 6);
    expect(said.join("\n")).toMatch(/bond 10 SNT from 0x/);
    // The mailbox returned it in every page kept (none yet): nothing proves an omission.
    await refused(
      ["dispute", "omission", sent.a],
      1,
      /DisputeError: no kept page commitment of mailbox alpha .* covers envelope/,
    );
    expect(await disputeState(`0x${"ab".repeat(32)}`)).toBe(State.None);
  }, 30_000);

  it("an omission in the mailbox's own signed page is proved from the kept evidence: slashed at once", async () => {
    // The mailbox loses a and b (their rows deleted while it runs): its next page leaves them out.
    const db = new DatabaseSync(join(net.mailboxes[0]!.dir, "archive.sqlite"));
    for (const id of [sent.a, sent.b])
      expect(
        Number(db.prepare("DELETE FROM envelopes WHERE id = ?").run(Buffer.from(id, "hex")).changes),
      ).toBe(1);
    db.close();
    await cli(["chat", "read", ROOM]);
    const proofs = (await list()).receipts.filter((r) => r.omissionProof).map((r) => r.envelopeId);
    expect(proofs.sort()).toEqual([sent.a, sent.b].sort());

    const [stakeBefore, balanceBefore] = [await stake(), await balance()];
    const r = await cliJson<{ disputeId: Hex; state: string; slashed: string; reward: string }>([
      "dispute",
      "omission",
      sent.a,
    ]);
    expect(r.state).toBe("upheld");
    const slashed = (stakeBefore * P.disputeSlashBps) / 10_000n;
    expect(BigInt(r.slashed)).toBe(slashed);
    expect(BigInt(r.reward)).toBe((slashed * P.slashRewardBps) / 10_000n);
    expect(await stake()).toBe(stakeBefore - slashed);
    expect(await balance()).toBe(balanceBefore + BigInt(r.reward));
    expect(await disputeState(r.disputeId)).toBe(State.Upheld);
    // The same page left b out too, but a commitment slashes once: the contract's refusal, in words.
    await refused(
      ["dispute", "omission", sent.b],
      1,
      /DisputeError: the chain refuses it: this evidence was disputed already .*\(DisputesAlreadyDisputed\)/,
    );
    expect(await stake()).toBe(stakeBefore - slashed);
  }, 30_000);

  it("a custody dispute the mailbox cannot answer: refused before the deadline, slashed after it, the bond back with the reward", async () => {
    // A small allowance left over: MiniMe SNT refuses non-zero → non-zero, so the CLI resets it first.
    const wallet = net.wallet(USER);
    await net.publicClient.waitForTransactionReceipt({
      hash: await wallet.writeContract({
        address: net.addresses.snt,
        abi: sntAbi,
        functionName: "approve",
        args: [disputes, 1n],
        chain: wallet.chain,
      }),
    });
    const balanceOpen = await balance();
    const opened = await cliJson<{ disputeId: Hex; deadline: string; bond: string }>([
      "dispute",
      "custody",
      sent.b,
      "--mailbox",
      "alpha",
      "--yes",
    ]);
    expect(BigInt(opened.bond)).toBe(P.disputeBond);
    expect(await disputeState(opened.disputeId)).toBe(State.Open);
    expect(await balance()).toBe(balanceOpen - P.disputeBond);
    await refused(
      ["dispute", "finalise", opened.disputeId],
      1,
      /the mailbox may still answer until .* \(chain time/,
    );
    await refused(["dispute", "custody", sent.b, "--yes"], 1, /this receipt was disputed already/);

    // Past the response window, and past the slash period the omission opened.
    await advance(Number(P.slashPeriod) + 5);
    expect(await disputeState(opened.disputeId)).toBe(State.Open); // it could not answer
    const [stakeBefore, balanceBefore] = [await stake(), await balance()];
    const r = await cliJson<{ state: string; slashed: string; reward: string; bond: string }>([
      "dispute",
      "finalise",
      opened.disputeId,
    ]);
    expect(r.state).toBe("upheld");
    const slashed = (stakeBefore * P.disputeSlashBps) / 10_000n;
    expect(BigInt(r.slashed)).toBe(slashed);
    expect(await stake()).toBe(stakeBefore - slashed);
    expect(BigInt(r.bond)).toBe(P.disputeBond);
    expect(await balance()).toBe(balanceBefore + P.disputeBond + (slashed * P.slashRewardBps) / 10_000n);
    expect(await disputeState(opened.disputeId)).toBe(State.Upheld);
    // Once more: it says so, and nothing moves.
    expect((await cliJson<{ state: string }>(["dispute", "finalise", opened.disputeId])).state).toBe(
      "upheld",
    );

    const l = await list();
    expect(l.disputes.map((d) => [d.kind, d.state, d.envelopeId]).sort()).toEqual(
      [
        ["custody", "upheld", sent.b],
        ["omission", "upheld", sent.a],
      ].sort(),
    );
    const byId = new Map(l.receipts.map((x) => [x.envelopeId, x]));
    expect(byId.get(sent.b)).toMatchObject({ disputable: false, why: "disputed (upheld)" });
    expect(byId.get(sent.c)).toMatchObject({ disputable: true });
  }, 40_000);

  it("refuses a receipt past its retain_until (chain time)", async () => {
    await advance(31 * 86_400);
    const l = await list();
    expect(l.receipts.find((x) => x.envelopeId === sent.c)).toMatchObject({
      disputable: false,
      why: "its retain_until is past",
    });
    const before = await balance();
    await refused(["dispute", "custody", sent.c, "--yes"], 1, /DisputeError: the receipt's promise ended at/);
    expect(await balance()).toBe(before);
  }, 30_000);
});
