// The web chat (`/chat` of apps/dashboard, `next build` + `next start`) in real Chromium
// (playwright-core) proves that a mailbox withheld a message and gets it slashed, against a real
// devnet: a Hardhat chain with the Disputes contract and two paid mailboxes, alpha and beta, each
// naming its evidence key. Nothing is mocked.
//
// A reader's browser reads the room #withheld from both mailboxes (k = 2). A sender (the `postbox`
// CLI) posts three messages through both. Beta's archive then misfiles one of them under another
// topic (its SQLite row changed while beta runs, as test/e2e/omission-cli.test.ts does): beta still
// says it holds it (presence, by id) but no history page on the room's topic returns it. The
// reader's catch-up names beta in the conversation and keeps the proof; after a reload (reading
// from one mailbox: no new proof) the kept proof is still offered, and "Prove on-chain" slashes
// beta (stake down by slashBps, dispute Upheld, the reward to the reader's wallet), as the page
// then says with the transaction. Port band 25,500; screenshots go to test-results/omission-web/.

import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { disputesAbi, mailboxRegistryAbi, networkParameters, sntAbi } from "@postbox/contracts";
import { formatSnt } from "@postbox/protocol";
import { type Browser, chromium, type Page } from "playwright-core";
import { type Address, type Hex, zeroAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startWebApp } from "../../scripts/bench/browser-client.ts";
import { DEV_KEYS, type Devnet, ROOT, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";
import { ensureDashboardBuilt } from "../../scripts/lib/webapp.ts";
import { CHROMIUM, RUN_BROWSER_TESTS } from "../browser/harness.ts";
import { expectArchiveHolds, misfileEnvelope, postboxCli } from "../support/postbox.ts";

const SENDER = 4;
const READER = 5;
const ROOM = "withheld";
const P = networkParameters.local;
const SHOTS = join(ROOT, "test-results", "omission-web");

describe.skipIf(!RUN_BROWSER_TESTS)(
  "the web chat proves a withheld message on-chain (Chromium, devnet)",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-omission-web-"));
    let port: number;
    let net: Devnet;
    let web: ChildProcess | undefined;
    let browser: Browser;
    let alpha: Address;
    let beta: Address;
    const problems: string[] = [];
    const url = (path: string) => `http://127.0.0.1:${port + 300}${path}`;

    /** The CLI as the sender (a separate process, its own client folder), through both mailboxes. */
    const sender = postboxCli(() => ({
      POSTBOX_CLIENT_DIR: join(dir, "sender"),
      POSTBOX_RPC_URL: net.rpc,
      POSTBOX_WALLET_KEY: DEV_KEYS[SENDER]!,
      POSTBOX_CHANNEL_DEPOSIT: "50",
      POSTBOX_K: "2",
    }));
    const cli = async (args: string[]) => (await sender.cli([...args, "--json"])).stdout;
    const read = <T>(address: Address, abi: unknown, functionName: string, args: readonly unknown[]) =>
      net.publicClient.readContract({ address, abi, functionName, args } as never) as Promise<T>;
    const stake = async (operator: Address) =>
      (await read<{ stake: bigint }>(net.addresses.registry, mailboxRegistryAbi, "getMailbox", [operator]))
        .stake;

    const watch = (page: Page) => {
      page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      page.on("console", (m) => {
        // The dashboard's default prober is not started here (k = 2 of 2 mailboxes needs no score).
        if (m.type() === "error" && !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text()))
          problems.push(`console: ${m.text()}`);
      });
    };
    const tab = (page: Page, name: string) => page.getByRole("tab", { name }).click();
    /** The number of the last catch-up the page finished (0: none yet); a failed one throws. */
    const lastRun = async (page: Page) => {
      const error = page.getByTestId("catchup-error");
      if ((await error.count()) > 0)
        throw new Error(`the catch-up failed: ${await error.textContent({ timeout: 500 }).catch(() => "")}`);
      const done = page.getByTestId("catchup-done");
      if ((await done.count()) === 0) return 0;
      return Number(await done.getAttribute("data-run", { timeout: 500 }).catch(() => 0));
    };
    const caughtUp = (page: Page, after = 0) =>
      expect.poll(() => lastRun(page), { timeout: 60_000, interval: 100 }).toBeGreaterThan(after);
    /** Reads and sends through `k` mailboxes (the Mailboxes tab); the chat starts again with it. */
    const setK = async (page: Page, k: number) => {
      await tab(page, "Mailboxes");
      const before = await lastRun(page);
      await page.locator("#chat-k").selectOption(String(k));
      await caughtUp(page, before);
      await tab(page, "Conversations");
    };
    const openRoom = async (page: Page) => {
      await page.locator(`[data-testid=conversation][data-conversation="room:${ROOM}"]`).click();
      await page.locator(`[data-testid=thread][data-conversation="room:${ROOM}"]`).waitFor();
    };
    const texts = (page: Page) => page.getByTestId("message-text").allTextContents();

    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true });
      port = await freePortBlock(25_500);
      const built = ensureDashboardBuilt();
      built.catch(() => undefined);
      net = await startDevnet({
        dataDir: join(dir, "net"),
        basePort: port,
        mailboxes: [
          { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
          { name: "beta", operator: 2, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
        ],
        stdio: "ignore",
      });
      [alpha, beta] = net.mailboxes.map((m) => m.operator) as [Address, Address];
      await built;
      web = await startWebApp(
        {
          ...process.env,
          NEXT_TELEMETRY_DISABLED: "1",
          NEXT_PUBLIC_RPC_URL: net.rpc,
          NEXT_PUBLIC_PROBER_URL: `http://127.0.0.1:${port + 200}`,
        },
        port + 300,
      );
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
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
    }, 600_000);

    afterAll(async () => {
      await browser?.close();
      web?.kill("SIGTERM");
      await net?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("names the mailbox that withheld a message, keeps the proof across a reload, and 'Prove on-chain' slashes it", async () => {
      const started = Date.now();
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const me = net.wallet(READER).account.address;
      try {
        // The reader: a wallet, an identity, both mailboxes, the room; then away.
        let page = await context.newPage();
        watch(page);
        await page.goto(url("/chat"));
        const menu = page.getByLabel("Wallet", { exact: true });
        const option = await menu
          .locator("option", { hasText: new RegExp(`^Devnet account #${READER}\\b`) })
          .getAttribute("value");
        await menu.selectOption(option!);
        await page.getByTestId("account").waitFor({ timeout: 15_000 });
        await page.getByTestId("create-identity").click();
        await caughtUp(page);
        await setK(page, 2);
        await page.getByRole("button", { name: "Join a room", exact: true }).click();
        await page.getByLabel("Room", { exact: true }).fill(`#${ROOM}`);
        const joined = await lastRun(page);
        await page.getByRole("button", { name: "Join room" }).click();
        await page
          .getByTestId("thread-name")
          .filter({ hasText: `#${ROOM}` })
          .waitFor();
        await caughtUp(page, joined);
        await page.close();

        // The sender posts three messages, each pushed to both mailboxes.
        await cli(["room", "join", `#${ROOM}`]);
        const ids: string[] = [];
        for (const t of ["a", "b", "c"]) {
          const sent = JSON.parse(await cli(["chat", "send", "--to", `#${ROOM}`, `message ${t}`])) as {
            id: string;
            state: string;
          };
          expect(sent.state).toBe("stored");
          ids.push(sent.id);
        }
        // Beta misfiles a under another topic while it runs: by id it still holds it.
        expectArchiveHolds(net.mailboxes[1]!.dir, ids);
        misfileEnvelope(net.mailboxes[1]!.dir, ids[0]!);

        // The reader comes back: every message arrives (alpha returned a), beta is named, the proof kept.
        page = await context.newPage();
        watch(page);
        await page.goto(url("/chat"));
        await caughtUp(page);
        await openRoom(page);
        await expect
          .poll(() => texts(page), { timeout: 15_000 })
          .toEqual(["message a", "message b", "message c"]);
        const gap = page.getByTestId("gap-notice");
        await gap.waitFor();
        expect(await gap.textContent()).toBe(
          "Mailbox beta did not return 1 message another mailbox had (1 it admits holding)",
        );
        expect(await gap.getAttribute("data-mailbox")).toBe(beta.toLowerCase());
        const proof = page.locator(`[data-testid=omission-proof][data-envelope="${ids[0]}"]`);
        await proof.waitFor();
        expect(await proof.getAttribute("data-mailbox")).toBe(beta.toLowerCase());
        expect(await proof.locator("p").first().textContent()).toBe(
          "An omission proof is kept: beta said it held this message and left it out again. Proving it on-chain slashes beta's stake and pays you a reward; it costs gas.",
        );
        await expect.poll(() => proof.getAttribute("data-state")).toBe("kept");
        await page.screenshot({ path: join(SHOTS, "gap-and-proof.png"), fullPage: true });
        // Nothing is sent without the click.
        expect(
          await net.publicClient.getContractEvents({
            address: net.addresses.disputes!,
            abi: disputesAbi,
            eventName: "DisputeUpheld",
            fromBlock: 0n,
          }),
        ).toEqual([]);

        // Reading from one mailbox finds no gap: after a reload the offer is the proof kept in storage.
        await setK(page, 1);
        await page.reload();
        await caughtUp(page);
        await openRoom(page);
        expect(await page.getByTestId("gap-notice").count()).toBe(0);
        const kept = page.locator(`[data-testid=omission-proof][data-envelope="${ids[0]}"]`);
        await expect.poll(() => kept.getAttribute("data-state"), { timeout: 15_000 }).toBe("kept");

        const [betaBefore, alphaBefore, readerBefore] = await Promise.all([
          stake(beta),
          stake(alpha),
          read<bigint>(net.addresses.snt, sntAbi, "balanceOf", [me]),
        ]);
        await kept.getByTestId("prove-omission").click();
        const proved = kept.getByTestId("omission-proved");
        await proved.waitFor({ timeout: 30_000 });
        const slashed = (betaBefore * P.disputeSlashBps) / 10_000n;
        const reward = (slashed * P.slashRewardBps) / 10_000n;
        // Beta is jailed for the term (the jail time shown is the event's).
        const jailed = (await proved.textContent())!.match(
          /; it is jailed until (.+) UTC\. View the transaction$/,
        );
        expect(await proved.textContent()).toBe(
          `Proved on-chain: beta's stake was slashed by ${formatSnt(slashed)}; ${formatSnt(reward)} reward paid to you${jailed ? `; it is jailed until ${jailed[1]} UTC` : ""}. View the transaction`,
        );
        expect(await proved.getByRole("link", { name: "View the transaction" }).getAttribute("href")).toMatch(
          /^\/tx\/0x[0-9a-f]{64}$/,
        );
        expect(await kept.getAttribute("data-state")).toBe("upheld");
        expect(await kept.locator(`[data-testid^=status-proof-]`).textContent()).toMatch(
          /^Prove on-chain: done in block \d+\. View the transaction$/,
        );
        await page.screenshot({ path: join(SHOTS, "proved.png"), fullPage: true });

        // On-chain: beta slashed by slashBps, the dispute upheld over a, the reward paid, alpha untouched.
        expect(await stake(beta)).toBe(betaBefore - slashed);
        expect(await stake(alpha)).toBe(alphaBefore);
        expect(await read<bigint>(net.addresses.snt, sntAbi, "balanceOf", [me])).toBe(readerBefore + reward);
        const [upheld, ...more] = await net.publicClient.getContractEvents({
          address: net.addresses.disputes!,
          abi: disputesAbi,
          eventName: "DisputeUpheld",
          fromBlock: 0n,
        });
        expect(more).toEqual([]);
        expect(upheld!.args).toMatchObject({
          operator: beta,
          challenger: me,
          omission: true,
          slashed,
          reward,
        });
        const record = await read<{ state: number; envelopeId: Hex }>(
          net.addresses.disputes!,
          disputesAbi,
          "getDispute",
          [upheld!.args.disputeId],
        );
        expect(record.state).toBe(3); // Upheld
        expect(record.envelopeId).toBe(`0x${ids[0]}`);
        expect(problems).toEqual([]);
      } finally {
        await context.close();
        process.stderr.write(
          `omission-web: the story took ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      }
    }, 180_000);
  },
);
