// The dashboard in a real browser (Debian's Chromium through playwright-core) against a running
// local network: two mailboxes and a prober on a Hardhat chain. The mailboxes appear with the
// prober's figures and their sample counts, a network overview and each mailbox's card; the
// wallet menu says what each devnet account is for; an operator's and a user's bad input is
// explained next to the field; an operator registers, announces a price, updates the endpoint and
// exits after a confirmation; an operator slashed and jailed by an upheld custody dispute (the
// devnet's Disputes contract: a receipt it signed, left unanswered past the window) sees its term
// and what unjailing needs, tops up, unjails — its page lists the dispute and the slash, the table
// marks it — and, jailed by a second upheld dispute, exits from jail; a
// user opens and tops up a channel, a revert reads in words, and a channel's close is cancelled
// once; every page fits a phone's width. No page logs an error. Screenshots go to
// test-results/dashboard/.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEVNET_KEYS,
  disputesAbi,
  mailboxRegistryAbi,
  networkParameters,
  paymentChannelsAbi,
  sntAbi,
} from "@postbox/contracts";
import {
  computeChannelId,
  createEnvelope,
  DEFAULT_SCORE_WEIGHTS,
  DISPUTE_HALF_LIFE_MS,
  DISPUTE_MEMORY_MS,
  DISPUTE_PENALTY,
  disputesFactor,
  formatSnt,
  LATENCY_GOOD_MS,
  type MailboxReport,
  receiptFor,
  SELECTION_RATIO,
  STAKE_FACTOR_AT_MINIMUM,
  STAKE_FULL_MULTIPLE,
  selectionChances,
  signReceipt,
  signVoucher,
  stakeFactor,
} from "@postbox/protocol";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { Agent, fetch } from "undici";
import { type Address, encodeFunctionData, type Hex, keccak256, parseEther, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Devnet, ROOT, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";
import { ensureDashboardBuilt } from "../../scripts/lib/webapp.ts";

// The devnet from PORT, the prober on PORT + 200, the dashboard on PORT + 300.
const PORT = await freePortBlock(20_000);

const CHROMIUM = process.env.POSTBOX_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(ROOT, "test-results", "dashboard");
const APP = join(ROOT, "apps", "dashboard");
const NEXT = join(ROOT, "node_modules", ".bin", "next");
const PHONE = { width: 390, height: 844 };

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("dashboard in a real browser", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-dashboard-"));
  const port = PORT;
  const webPort = port + 300;
  let net: Devnet;
  let web: ChildProcess | undefined;
  let browser: Browser;
  let page: Page;
  let alpha: string;
  /** Every console error and uncaught exception of every page: each test ends with none. */
  const browserErrors: string[] = [];
  const url = (path: string) => `http://127.0.0.1:${webPort}${path}`;

  const watch = (p: Page) => {
    p.on("console", (m) => {
      if (m.type() === "error") browserErrors.push(`console: ${m.text()}`);
    });
    p.on("pageerror", (e) => browserErrors.push(`pageerror: ${e.message}`));
  };

  beforeAll(async () => {
    net = await startDevnet({
      dataDir: join(dir, "net"),
      basePort: port,
      mailboxes: [
        { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
        { name: "beta", operator: 2, pricePerQuery: "0.02", pricePerMessage: "0.00005" },
      ],
      prober: {
        key: 6,
        port: port + 200,
        flags: [
          "--probe-interval",
          "0.5s",
          "--canary-interval",
          "1s",
          "--canary-delay",
          "2s",
          "--registry-interval",
          "1s",
        ],
      },
      stdio: "ignore",
    });
    alpha = net.mailboxes[0]!.operator.toLowerCase();
    const env = {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: "1",
      NEXT_PUBLIC_RPC_URL: net.rpc,
      NEXT_PUBLIC_PROBER_URL: net.proberUrl!,
      NEXT_PUBLIC_DISPUTES: net.addresses.disputes!,
    };
    // The build `npm run build` makes (made here if missing or stale) serves this file's chain and
    // prober: the dashboard reads its settings when it runs.
    await ensureDashboardBuilt();
    web = spawn(NEXT, ["start", APP, "--port", String(webPort), "--hostname", "127.0.0.1"], {
      cwd: ROOT,
      env,
      stdio: "ignore",
    });
    for (let i = 0; ; i++) {
      const ok = await fetch(url("/methodology"), { dispatcher: new Agent({ pipelining: 0 }) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 300) throw new Error("the dashboard did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watch(page);
    mkdirSync(SHOTS, { recursive: true });
  }, 300_000);

  afterEach(() => {
    const seen = browserErrors.splice(0);
    expect(seen, "the browser logged errors").toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    web?.kill("SIGTERM");
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The wallet menu's option for devnet account #n. */
  const walletOption = (p: Page, n: number) =>
    p
      .getByLabel("Wallet", { exact: true })
      .locator("option", { hasText: new RegExp(`^Devnet account #${n}\\b`) });

  // Picks a devnet account in the wallet menu. The dashboard remembers the last one across
  // reloads (and reconnects it asynchronously), so start from a browser that remembers nothing.
  const connect = async (account: number, p: Page = page) => {
    await p.evaluate(() => localStorage.clear());
    await p.reload();
    const value = await walletOption(p, account).getAttribute("value");
    await p.getByLabel("Wallet", { exact: true }).selectOption(value!);
    await p
      .getByTestId("account")
      .waitFor({ timeout: 15_000 })
      .catch(async () => {
        throw new Error(`not connected: ${await p.locator("header").textContent()}`);
      });
    expect(await p.getByTestId("account").textContent()).toContain(`Devnet account #${account}`);
  };

  /** How wide the page's content is (more than the viewport: a sideways scroll). */
  const pageWidth = (p: Page) => p.evaluate<number>("document.documentElement.scrollWidth");

  /** What the page says next to a field: its aria-invalid and the text aria-describedby points at. */
  const note = async (input: Locator) => {
    const id = await input.getAttribute("aria-describedby");
    return {
      invalid: await input.getAttribute("aria-invalid"),
      text: id ? await input.page().locator(`[id="${id}"]`).textContent() : null,
    };
  };

  /** Types into a field and waits until the page says `text` next to it (and marks it invalid). */
  const expectRefused = async (input: Locator, value: string, text: string) => {
    await input.fill(value);
    await expect.poll(() => note(input)).toEqual({ invalid: "true", text });
  };

  /** Sends a transaction from a devnet key, the way the CLI would, and waits for its block. */
  const sendAs = async (key: number, to: Address, data: Hex) => {
    const hash = await net.wallet(key).sendTransaction({ to, data });
    const receipt = await net.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    return receipt;
  };

  /** Pays SNT into `spender` and calls it in one transaction (SNT's approveAndCall), as the CLI does. */
  const approveAndCall = (key: number, spender: Address, amount: bigint, data: Hex) =>
    sendAs(
      key,
      net.addresses.snt,
      encodeFunctionData({ abi: sntAbi, functionName: "approveAndCall", args: [spender, amount, data] }),
    );

  /** SNT redeemed (by `payee`, or by every mailbox), from the channels' events on the chain. */
  const redeemed = async (payee?: string) => {
    const logs = await net.publicClient.getContractEvents({
      address: net.addresses.channels,
      abi: paymentChannelsAbi,
      eventName: "Redeemed",
      ...(payee ? { args: { payee: payee as Address } } : {}),
      fromBlock: 0n,
    });
    return logs.reduce((a, l) => a + (l.args.amount ?? 0n), 0n);
  };

  it("lists the mailboxes with their figures and sample counts, under a network overview", async () => {
    await page.goto(url("/"));
    const rows = page.locator("table[data-testid=mailboxes] tbody tr");
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    const row = page.locator(`tr[data-address="${alpha}"]`);
    // Each figure with the samples behind it; "new" until there are enough.
    await expect
      .poll(() => row.getByTestId("uptime24h").textContent(), { timeout: 30_000 })
      .toMatch(/^100\.0 % · \d+ probes( · since .*)?$/);
    expect(await row.getByTestId("canaries").textContent()).toMatch(
      /^(new · \d+ canar(y|ies)|\d+\.\d % · \d+ canaries)$/,
    );
    // A mailbox that answers every probe is never coloured as bad.
    await expect.poll(() => row.getByTestId("score").getAttribute("class"), { timeout: 30_000 }).toBe("good");
    // Amounts with their unit, prices per the one reference page.
    expect(await page.locator("table[data-testid=mailboxes] thead").textContent()).toContain(
      "Price per 100-message page",
    );
    expect(await row.locator("td[data-label=Stake]").textContent()).toBe("2,000 SNT");
    expect(await row.locator("td[data-label='Price per 100-message page']").textContent()).toBe("0.02 SNT");
    expect(await row.locator("td").first().textContent()).toContain("alpha");
    // The overview, from the chain.
    await expect
      .poll(() => page.getByTestId("total-stake").textContent(), { timeout: 20_000 })
      .toBe("4,000 SNT");
    expect(await page.getByTestId("active-mailboxes").textContent()).toBe("2");
    expect(await page.getByTestId("redeemed-24h").textContent()).toMatch(/ SNT$/);
    // The navigation marks where we are.
    const nav = page.getByRole("navigation", { name: "Main" });
    expect(await nav.getByRole("link", { name: "Mailboxes" }).getAttribute("aria-current")).toBe("page");
    expect(await nav.getByRole("link", { name: "Operate" }).getAttribute("aria-current")).toBeNull();
    await page.screenshot({ path: join(SHOTS, "mailboxes.png"), fullPage: true });
  }, 90_000);

  it("the methodology page states today's formulas and draw rule, with the protocol's constants", async () => {
    await page.goto(url("/methodology"));
    const text = (id: string) => page.getByTestId(id).textContent({ timeout: 5_000 });
    expect(await text("formula-latency")).toContain(
      `1 up to a median (p50) of ${LATENCY_GOOD_MS} ms; above it ${LATENCY_GOOD_MS} ÷ p50`,
    );
    expect(await text("formula-stake")).toContain(
      `${STAKE_FACTOR_AT_MINIMUM} at the registry's minimum, rising by the same step for every doubling`,
    );
    expect(await text("formula-stake")).toContain(
      `to 1 at ${STAKE_FULL_MULTIPLE} × the minimum (2 ×: ${Number(stakeFactor(2n, 1n).toFixed(2))}`,
    );
    expect(await text("formula-price")).toMatch(
      /^Price: the median price of a 100-message page among the active mailboxes ÷ this mailbox's, at most 1/,
    );
    expect(await text("draw-rule")).toContain(
      `every candidate scoring at least ${SELECTION_RATIO * 100} % of the best score, and the best quarter`,
    );
    expect(await text("draw-rule")).toContain("in proportion to score");
    // The worked example is the client's own computation.
    const chances = selectionChances([0.9, 0.85, 0.7, 0.5], 1).map(
      (c) => `${Number((c * 100).toFixed(1))} %`,
    );
    expect(await text("draw-example")).toContain(`the chances are ${chances.join(", ")}.`);
    // Upheld disputes: the sixth factor, its penalty and half-life, from the protocol's constants.
    expect(await text("score-formula")).toContain(
      `price${DEFAULT_SCORE_WEIGHTS.price} · disputes${DEFAULT_SCORE_WEIGHTS.disputes}`,
    );
    const DAY = 86_400_000;
    const halfLife = DISPUTE_HALF_LIFE_MS / DAY;
    const at = (days: number) => Number(disputesFactor([0], days * DAY).toFixed(3));
    expect(await text("formula-disputes")).toContain(
      `multiplies the factor by 1 − ${DISPUTE_PENALTY} · 2−age ÷ ${halfLife} days — fresh: ${at(0)}, ${halfLife} days old: ${at(halfLife)}, ${3 * halfLife} days old: ${at(3 * halfLife)}; forgotten after ${DISPUTE_MEMORY_MS / DAY} days.`,
    );
    // A mailbox's first day: the 24-hour uptime decides its colour, not "new" for the whole day.
    expect(await text("figure-tone")).toContain("over 24 h during its first day of probes");
  }, 30_000);

  it("a mailbox's page: its card, status, earnings, history in SNT and its transactions", async () => {
    // A user pays alpha 0.25 SNT through a channel, and alpha redeems it (as the CLI and the node do).
    const payer = privateKeyToAccount(DEVNET_KEYS[3]);
    const salt = keccak256(toHex("dashboard-earnings"));
    await approveAndCall(
      3,
      net.addresses.channels,
      parseEther("1"),
      encodeFunctionData({
        abi: paymentChannelsAbi,
        functionName: "open",
        args: [alpha as Address, payer.address, 0n, salt],
      }),
    );
    const channelId = computeChannelId({
      payer: payer.address,
      payee: alpha as Address,
      signer: payer.address,
      salt,
    });
    const voucher = { channelId, cumulativeAmount: parseEther("0.25") };
    const signature = await signVoucher(
      payer,
      { chainId: 31337, verifyingContract: net.addresses.channels },
      voucher,
    );
    await sendAs(
      1,
      net.addresses.channels,
      encodeFunctionData({
        abi: paymentChannelsAbi,
        functionName: "redeem",
        args: [channelId, voucher.cumulativeAmount, signature],
      }),
    );
    expect(await redeemed(alpha)).toBeGreaterThanOrEqual(parseEther("0.25"));

    await page.goto(url("/"));
    await page.locator(`tr[data-address="${alpha}"] a`).first().click();
    await page.getByTestId("registry-status").waitFor();
    expect(await page.locator("h1").textContent()).toContain("alpha");
    expect(await page.getByTestId("registry-status").textContent()).toContain("active");
    // Its card, from its metadata: text, and links only to mailto:/https:.
    const about = page.getByTestId("about");
    await expect.poll(() => about.textContent(), { timeout: 20_000 }).toContain("Devnet mailbox alpha");
    expect(
      await about.getByRole("link", { name: "mailto:ops@alpha.devnet.invalid" }).getAttribute("href"),
    ).toBe("mailto:ops@alpha.devnet.invalid");
    // Its earnings and the channels paying it, from the chain.
    await expect
      .poll(async () => [await page.getByTestId("earned").textContent(), formatSnt(await redeemed(alpha))], {
        timeout: 20_000,
      })
      .toSatisfy(([shown, onChain]) => shown === onChain);
    expect(await page.getByTestId("paying-channels").textContent()).toMatch(/^[1-9]\d* of \d+ opened to it$/);
    // Its history: amounts in SNT, prices per the reference page, no raw base units.
    const history = page.getByTestId("history");
    await expect.poll(() => history.textContent(), { timeout: 20_000 }).toContain("Registered");
    const text = (await history.textContent()) ?? "";
    expect(text).toContain("stake 2,000 SNT");
    expect(text).toContain("0.01 SNT per query + 0.0001 SNT per message (0.02 SNT per 100-message page)");
    expect(text).not.toMatch(/\d{13,}/);
    // "Open a channel to this mailbox" names it for /channels.
    expect(await page.getByTestId("open-channel-here").getAttribute("href")).toBe(`/channels?payee=${alpha}`);
    await page.screenshot({ path: join(SHOTS, "mailbox.png"), fullPage: true });
    // An event's transaction: the receipt and its events in words.
    await history.getByRole("link", { name: "transaction" }).last().click();
    await page.getByTestId("tx-status").waitFor();
    expect(await page.getByTestId("tx-status").textContent()).toBe("succeeded");
    const events = (await page.getByTestId("tx-events").textContent()) ?? "";
    expect(events).toContain("Registered");
    expect(events).toContain("stake 2,000 SNT");
    // The overview counts the redemption.
    await page.goto(url("/"));
    await expect
      .poll(async () => [await page.getByTestId("redeemed-24h").textContent(), formatSnt(await redeemed())], {
        timeout: 20_000,
      })
      .toSatisfy(([shown, onChain]) => shown === onChain);
  }, 90_000);

  it("the wallet menu says what each devnet account is for, and what to do without a browser wallet", async () => {
    await page.goto(url("/operate"));
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    // Labels follow the registry: alpha and beta are registered here, gamma's account is not.
    await expect
      .poll(() => walletOption(page, 3).textContent(), { timeout: 20_000 })
      .toBe("Devnet account #3 — free (no mailbox registered)");
    const labels = await page.getByLabel("Wallet", { exact: true }).locator("option").allTextContents();
    expect(labels).toEqual([
      "Connect a wallet…",
      "Browser wallet (none found)",
      "Devnet account #1 — operates mailbox alpha",
      "Devnet account #2 — operates mailbox beta",
      "Devnet account #3 — free (no mailbox registered)",
      "Devnet account #4 — the CLI user (npm start's export line)",
      "Devnet account #5 — free",
      "Devnet account #6 — the prober's key (pays for canaries)",
      "Devnet account #7 — free",
    ]);
    // No browser wallet: say so, and what to do instead.
    const menu = page.getByLabel("Wallet", { exact: true });
    await menu.selectOption("injected");
    await expect
      .poll(async () => (await note(menu)).text)
      .toBe(
        "No browser wallet was found. Install one (for example MetaMask or Rabby) and reload, or pick a devnet account in this menu: they are funded on the local chain.",
      );
  }, 60_000);

  it("an operator's bad input is explained next to each field; registering then works", async () => {
    await page.goto(url("/operate"));
    await connect(5);
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 20_000 })
      .toBe("not registered");
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("1,000,000 SNT");
    await page.locator("input[name=peerId]").fill("12D3KooWDashboardTestPeer");
    await page.locator("input[name=multiaddrs]").fill("/ip4/127.0.0.1/tcp/9");
    const stake = page.locator("input[name=stake]");
    const register = page.getByRole("button", { name: "Register" });
    await expectRefused(
      stake,
      "1,500",
      "Use a dot for decimals and no thousands separator (for example 1500).",
    );
    expect(await register.isDisabled()).toBe(true);
    await expectRefused(stake, "999", "The minimum stake is 1,000 SNT.");
    await expectRefused(stake, "2000000", "That is more than your balance (1,000,000 SNT).");
    await expectRefused(stake, "1.0000000000000000001", "SNT has at most 18 decimals.");
    await expectRefused(
      page.locator("input[name=multiaddrs]"),
      "127.0.0.1:9",
      '"127.0.0.1:9" is not a multiaddr: it starts with a protocol, as /ip4/… or /dns4/….',
    );
    expect(await register.isDisabled()).toBe(true);
    await page.screenshot({ path: join(SHOTS, "operate-invalid.png"), fullPage: true });
    await page.locator("input[name=multiaddrs]").fill("/ip4/127.0.0.1/tcp/9");
    await stake.fill("1500");
    await page.locator("input[name=pricePerQuery]").fill("0.03");
    await page.locator("input[name=pricePerMessage]").fill("0.0002");
    expect(await note(stake)).toEqual({ invalid: null, text: null });
    await register.click();
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 30_000 })
      .toBe("active");
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("998,500 SNT");
    await page.goto(url("/"));
    const address = net.wallet(5).account.address.toLowerCase();
    await expect
      .poll(() => page.locator(`tr[data-address="${address}"]`).count(), { timeout: 30_000 })
      .toBe(1);
    await page.screenshot({ path: join(SHOTS, "registered.png"), fullPage: true });
  }, 90_000);

  it("announcing a price starts from the price on-chain and waits for an edit", async () => {
    await page.goto(url("/operate"));
    await page.getByTestId("current-price").waitFor();
    // The form holds the registered price (not a default), so announcing it unedited is impossible.
    const perQuery = page.locator("input[name=newPricePerQuery]");
    expect(await perQuery.inputValue()).toBe("0.03");
    expect(await page.locator("input[name=newPricePerMessage]").inputValue()).toBe("0.0002");
    const announce = page.getByRole("button", { name: "Announce price" });
    expect(await announce.isDisabled()).toBe(true);
    await expectRefused(
      perQuery,
      "0,05",
      "Use a dot for decimals and no thousands separator (for example 0.05).",
    );
    expect(await announce.isDisabled()).toBe(true);
    await perQuery.fill("0.05");
    expect(await page.getByTestId("price-note").textContent()).toBe(
      "New: 0.07 SNT per 100-message page, applies 1 min 0 s after the announcement (an increase).",
    );
    await announce.click();
    await expect
      .poll(() => page.getByTestId("price-countdown").textContent(), { timeout: 30_000 })
      .toMatch(
        /^Announced: 0\.05 SNT per query \+ 0\.0002 SNT per message \(0\.07 SNT per 100-message page\), applies in \d+ (min|s)/,
      );
    expect(await perQuery.inputValue()).toBe("0.05");
    expect(await announce.isDisabled()).toBe(true);
    await page.screenshot({ path: join(SHOTS, "price-countdown.png"), fullPage: true });
  }, 60_000);

  it("the endpoint form starts from the registry, not from earlier text", async () => {
    await page.reload();
    const field = page.locator("input[name=newMultiaddrs]");
    await field.waitFor();
    expect(await field.inputValue()).toBe("/ip4/127.0.0.1/tcp/9");
    const update = page.getByRole("button", { name: "Update endpoint" });
    expect(await update.isDisabled()).toBe(true);
    await field.fill("/ip4/127.0.0.1/tcp/10");
    await update.click();
    await expect
      .poll(() => page.getByTestId("status-endpoint").textContent(), { timeout: 30_000 })
      .toMatch(/^Update endpoint: done in block \d+\. View the transaction$/);
    await page.reload();
    await field.waitFor();
    expect(await field.inputValue()).toBe("/ip4/127.0.0.1/tcp/10");
  }, 60_000);

  it("requesting an exit asks first, stating the retention and unbonding period and when the stake is withdrawable", async () => {
    await page.getByRole("button", { name: "Request exit…" }).click();
    const text = await page.getByTestId("exit-confirmation").textContent();
    expect(text).toContain(
      "Your stake of 1,500 SNT stays locked while the receipts you gave can still be disputed: your retention of 30 d 0 h, then the registry's unbonding period of 2 min 0 s",
    );
    expect(text).toMatch(/it becomes withdrawable at \d{4}-\d\d-\d\d \d\d:\d\d \(in 30 d 0 h,/);
    await page.screenshot({ path: join(SHOTS, "exit-confirmation.png"), fullPage: true });
    await page.getByRole("button", { name: "Cancel" }).click();
    expect(await page.getByTestId("operator-status").textContent()).toBe("active");
    await page.getByRole("button", { name: "Request exit…" }).click();
    await page.getByRole("button", { name: "Confirm exit" }).click();
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 30_000 })
      .toBe("exiting");
    // The registry keeps the stake until the mailbox's last promise can have been disputed: its
    // 30-day retention from the exit, then the 2-minute unbonding (docs/contracts.md).
    expect(await page.getByTestId("withdraw-countdown").textContent()).toMatch(
      /^Stake of 1,500 SNT withdrawable in 30 d 0 h \(/,
    );
  }, 60_000);

  it("an operator jailed by an upheld dispute sees its term and what unjailing needs, unjails, and can leave from jail; its page lists the disputes and the slash", async () => {
    // Account #3 registers with exactly the minimum stake (as the CLI would).
    const op = net.wallet(3).account.address;
    const registry = net.addresses.registry;
    const read = <T>(functionName: string, args: unknown[] = []) =>
      net.publicClient.readContract({
        address: registry,
        abi: mailboxRegistryAbi,
        functionName,
        args,
      } as never) as Promise<T>;
    const minStake = await read<bigint>("minStake");
    await approveAndCall(
      3,
      registry,
      minStake,
      encodeFunctionData({
        abi: mailboxRegistryAbi,
        functionName: "register",
        args: ["12D3KooWDashboardPeer3", ["/ip4/127.0.0.1/tcp/11"], "", 0n, parseEther("0.01"), 0n, 86_400n],
      }),
    );
    // It names its own key as its evidence key and signs receipts for two envelopes it never keeps
    // (no mailbox runs for it): a reader (#0) disputes custody of both, a bond each.
    await sendAs(
      3,
      registry,
      encodeFunctionData({ abi: mailboxRegistryAbi, functionName: "setEvidenceSigner", args: [op] }),
    );
    const disputes = net.addresses.disputes!;
    const storedAt = (await net.publicClient.getBlock()).timestamp * 1000n;
    const receipts = await Promise.all(
      ["first", "second"].map(async (text) => {
        const receipt = receiptFor(
          op,
          createEnvelope({
            contentTopic: "/postbox/1/room-0123456789abcdef0123456789abcdef/proto",
            payload: new TextEncoder().encode(`receipted, never kept: ${text}`),
          }),
          { storedAt, retainUntil: storedAt + 86_400_000n },
        );
        const signature = await signReceipt(
          privateKeyToAccount(DEVNET_KEYS[3]),
          { chainId: 31337, verifyingContract: disputes },
          receipt,
        );
        return { receipt, signature };
      }),
    );
    const bond = networkParameters.local.disputeBond;
    await sendAs(
      0,
      net.addresses.snt,
      encodeFunctionData({ abi: sntAbi, functionName: "approve", args: [disputes, 2n * bond] }),
    );
    const ids: Hex[] = [];
    for (const { receipt, signature } of receipts) {
      await sendAs(
        0,
        disputes,
        encodeFunctionData({ abi: disputesAbi, functionName: "disputeCustody", args: [receipt, signature] }),
      );
      ids.push(
        await net.publicClient.readContract({
          address: disputes,
          abi: disputesAbi,
          functionName: "receiptDigest",
          args: [receipt],
        }),
      );
    }
    const dispute = ids[0]!;
    const getDispute = (id: Hex) =>
      net.publicClient.readContract({
        address: disputes,
        abi: disputesAbi,
        functionName: "getDispute",
        args: [id],
      });
    // Nobody answers within the window (30 s on the devnet; the chain follows the clock); the first
    // is finalised: upheld. 10 % of the stake is slashed (what a slash period allows): below the
    // minimum, the entry is jailed at once; then the dispute jails it for its term.
    const { deadline } = await getDispute(dispute);
    await expect
      .poll(async () => (await net.publicClient.getBlock()).timestamp, { timeout: 60_000, interval: 1_000 })
      .toBeGreaterThan(deadline);
    expect(await read<bigint>("slashable", [op])).toBe(minStake / 10n);
    await sendAs(
      0,
      disputes,
      encodeFunctionData({ abi: disputesAbi, functionName: "finaliseCustody", args: [dispute] }),
    );
    expect((await getDispute(dispute)).state).toBe(3);

    await page.goto(url("/operate"));
    await connect(3);
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 20_000 })
      .toBe("jailed");
    expect(await page.getByTestId("jailed-until").textContent()).toMatch(
      /^jailed until \d{4}-\d\d-\d\d \d\d:\d\d \(in \d+ s\)$/,
    );
    const unjail = page.getByRole("button", { name: "Unjail" });
    const unjailNote = page.getByTestId("unjail-note");
    expect(await unjail.isDisabled()).toBe(true);
    expect(await unjailNote.textContent()).toMatch(
      /^The jail term runs until \d{4}-\d\d-\d\d \d\d:\d\d \(in \d+ s\)\. The stake is 900 SNT, below the minimum of 1,000 SNT: add at least 100 SNT first\.$/,
    );
    expect(await unjail.getAttribute("aria-describedby")).toBe(await unjailNote.getAttribute("id"));
    // Its history: the slash with its dispute, reward and treasury share, and both jailings.
    const history = page.getByTestId("operator-history");
    await expect
      .poll(() => history.locator("li[data-event=Slashed]").textContent(), { timeout: 20_000 })
      .toContain(
        `dispute ${dispute.slice(0, 6)}…${dispute.slice(-4)} · 100 SNT taken · 50 SNT reward to the disputes contract · 50 SNT to the treasury · stake now 900 SNT`,
      );
    const jailings = await history.locator("li[data-event=Jailed]").allTextContents();
    expect(jailings).toHaveLength(2);
    expect(jailings[0]).toMatch(/was jailed · until \d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(jailings[1]).toMatch(/was active · no term: until the stake is back at the minimum$/);
    // A jailed operator's page fits a phone too.
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SHOTS, "phone-operate-jailed.png"), fullPage: true });
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await page.setViewportSize({ width: 1280, height: 900 });
    // Topping the stake up leaves only the term in the way.
    await page.locator("input[name=addStake]").fill("100");
    await page.getByRole("button", { name: "Add stake" }).click();
    await expect
      .poll(() => unjailNote.textContent(), { timeout: 30_000 })
      .toMatch(
        /^The jail term (runs until .* \(in \d+ s\)|is over with the next block \(a few seconds\))\.$/,
      );
    expect(await unjail.isDisabled()).toBe(true);
    // Once the term is over, unjail.
    await expect.poll(() => unjail.isEnabled(), { timeout: 60_000 }).toBe(true);
    expect(await unjailNote.textContent()).toBe(
      "The term is over and the stake meets the minimum: unjail to be listed again.",
    );
    await unjail.click();
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 30_000 })
      .toBe("active");
    expect(await read<{ status: number }>("getMailbox", [op]).then((m) => m.status)).toBe(1);
    await expect.poll(() => history.locator("li[data-event=Unjailed]").count(), { timeout: 20_000 }).toBe(1);

    // Listed again: the table marks its upheld dispute, as the prober counted it.
    const me = op.toLowerCase();
    await page.goto(url("/"));
    const row = page.locator(`tr[data-address="${me}"]`);
    await expect.poll(() => row.getByTestId("upheld-disputes").count(), { timeout: 30_000 }).toBe(1);
    expect(await row.getByTestId("upheld-disputes").textContent()).toBe("1 upheld dispute");
    expect(await page.locator("[data-testid=upheld-disputes]").count()).toBe(1);
    // Its page lists both disputes from the chain (newest first) and the slash.
    await row.locator("a").first().click();
    const list = page.getByTestId("disputes");
    await expect.poll(() => list.locator("li").count(), { timeout: 20_000 }).toBe(2);
    expect(await page.getByTestId("disputes-summary").textContent()).toMatch(
      /^1 upheld · 0 answered · 1 open /,
    );
    const short = (x: string) => `${x.slice(0, 6)}…${x.slice(-4)}`;
    const upheld = list.locator("li[data-state=upheld]");
    expect(await upheld.getAttribute("data-kind")).toBe("custody");
    expect(await upheld.getByTestId("dispute-state").textContent()).toBe(
      "upheld: not answered within the window",
    );
    expect(await upheld.getByTestId("dispute-facts").textContent()).toMatch(
      new RegExp(
        `^id ${short(dispute)} · opened by ${short(net.wallet(0).account.address)} · envelope ${short(receipts[0]!.receipt.envelopeId)} · bond 10 SNT · deadline \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d · slashed 100 SNT · jailed until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d$`,
      ),
    );
    expect(await upheld.getByRole("link").allTextContents()).toEqual(["opened", "upheld"]);
    const open = list.locator("li[data-state=open]");
    expect(await open.getByTestId("dispute-state").textContent()).toBe(
      "open: the window has passed, anyone can finalise it",
    );
    expect(await open.getByTestId("dispute-facts").textContent()).toContain(`id ${short(ids[1]!)}`);
    const slashes = page.getByTestId("slashes");
    expect(await slashes.locator("li").count()).toBe(1);
    expect(await slashes.textContent()).toContain(`100 SNT slashed`);
    expect(await slashes.textContent()).toContain(
      `dispute ${short(dispute)} · 50 SNT reward · 50 SNT to the treasury · stake now 900 SNT`,
    );
    // The score shown is the prober's: its disputes factor halves it.
    const proberReport = async () => {
      const res = await fetch(`${net.proberUrl}/mailboxes/${me}`, {
        dispatcher: new Agent({ pipelining: 0 }),
      });
      return ((await res.json()) as { report: { mailbox: MailboxReport } }).report.mailbox;
    };
    const figures = await proberReport();
    expect(figures.disputes).toMatchObject({
      open: 1,
      answered: 0,
      upheld: 1,
      slashed: parseEther("100").toString(),
    });
    expect(figures.factors.disputes).toBeCloseTo(0.5, 3);
    const factors = page.locator("tr", { has: page.locator("td", { hasText: /^disputes$/ }) });
    await expect
      .poll(() => factors.locator("td").allTextContents(), { timeout: 20_000 })
      .toEqual(["disputes", "0.500", "^ 1"]);
    expect(await page.getByTestId("score-disputes").textContent()).toBe(
      "1 upheld dispute: disputes factor 0.500",
    );
    await page.screenshot({ path: join(SHOTS, "mailbox-disputes.png"), fullPage: true });
    // At a phone's width too (its charts resize on the next frames).
    await page.setViewportSize(PHONE);
    await expect.poll(() => pageWidth(page), { timeout: 5_000 }).toBeLessThanOrEqual(PHONE.width);
    await page.setViewportSize({ width: 1280, height: 900 });

    // Jailed again by the second dispute, upheld now, it leaves instead: an exit from jail, confirmed first.
    await page.goto(url("/operate"));
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 30_000 })
      .toBe("active");
    await sendAs(
      0,
      disputes,
      encodeFunctionData({ abi: disputesAbi, functionName: "finaliseCustody", args: [ids[1]!] }),
    );
    expect((await getDispute(ids[1]!)).state).toBe(3);
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 30_000 })
      .toBe("jailed");
    await page.getByRole("button", { name: "Request exit…" }).click();
    const confirmation = (await page.getByTestId("exit-confirmation").textContent()) ?? "";
    expect(confirmation).toContain(
      "The mailbox, unlisted while jailed, leaves the registry instead of returning",
    );
    expect(confirmation).toMatch(
      /Its jail term \(until \d{4}-\d\d-\d\d \d\d:\d\d\) does not delay the withdrawal, but this account can register again only after it\./,
    );
    await page.getByRole("button", { name: "Confirm exit" }).click();
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 30_000 })
      .toBe("exiting");
    expect(await page.getByTestId("jailed-until").textContent()).toMatch(/^jailed until .* \(in \d+ (min|s)/);
  }, 300_000);

  it("a user's bad input on /channels is explained; opening and topping up work", async () => {
    // "Open a channel to this mailbox" preselects it.
    await page.goto(url(`/channels?payee=${alpha}`));
    await connect(7);
    await expect.poll(() => page.locator("select[name=payee]").inputValue(), { timeout: 20_000 }).toBe(alpha);
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("1,000,000 SNT");
    const deposit = page.locator("input[name=deposit]");
    const open = page.getByRole("button", { name: "Open", exact: true });
    await expectRefused(
      deposit,
      "1,5",
      "Use a dot for decimals and no thousands separator (for example 1.5).",
    );
    expect(await open.isDisabled()).toBe(true);
    await expectRefused(deposit, "1000001", "That is more than your balance (1,000,000 SNT).");
    await expectRefused(deposit, "0", "Enter an amount above 0.");
    await expectRefused(
      page.locator("input[name=signer]"),
      "0x1234",
      "Not an address: 0x followed by 40 hexadecimal digits.",
    );
    await page.locator("input[name=signer]").fill("");
    await deposit.fill("12");
    await open.click();
    const row = page.locator("table[data-testid=channels] tbody tr");
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    expect(await row.first().locator("td[data-label='Paid / deposit']").textContent()).toBe("0 / 12 SNT");
    expect(await row.first().getByTestId("channel-state").textContent()).toBe("open");
    await expect.poll(() => page.getByTestId("status-open").textContent()).toMatch(/^Open channel: done/);
    // A bad top-up is explained at its field; a good one replaces the previous action's line.
    const topUp = row.first().locator("input[name=topUp]");
    const topUpButton = row.first().getByRole("button", { name: "Top up" });
    await expectRefused(topUp, "abc", '"abc" is not an amount: use digits and at most one dot.');
    expect(await topUpButton.isDisabled()).toBe(true);
    await topUp.fill("3");
    await topUpButton.click();
    await expect
      .poll(() => row.first().locator("td[data-label='Paid / deposit']").textContent(), { timeout: 30_000 })
      .toBe("0 / 15 SNT");
    expect(await page.getByTestId("status-open").count()).toBe(0);
    expect(await row.first().getByRole("status").textContent()).toMatch(/^Top up: done in block \d+\./);
    await page.screenshot({ path: join(SHOTS, "channels.png"), fullPage: true });
  }, 90_000);

  it("a transaction the chain would refuse is not sent, and the refusal reads in words", async () => {
    // A second tab whose view is about to be stale: the chat app (here: the same key, as the CLI
    // would) starts closing the channel, and the tab tops it up before its next refresh. The
    // tab's timers are held so that the refresh cannot come first.
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      await context.clock.install();
      const tab = await context.newPage();
      watch(tab);
      await tab.goto(url("/channels"));
      await connect(7, tab);
      const row = tab.locator("table[data-testid=channels] tbody tr").first();
      await expect
        .poll(() => row.getByTestId("channel-state").textContent(), { timeout: 30_000 })
        .toBe("open");
      await row.locator("input[name=topUp]").fill("1");
      const id = (await row.getAttribute("data-channel")) as Hex;
      await context.clock.pauseAt(Date.now() + 1_000);
      await sendAs(
        7,
        net.addresses.channels,
        encodeFunctionData({ abi: paymentChannelsAbi, functionName: "requestClose", args: [id] }),
      );
      const channel = () =>
        net.publicClient.readContract({
          address: net.addresses.channels,
          abi: paymentChannelsAbi,
          functionName: "getChannel",
          args: [id],
        });
      const before = await channel();
      await row.getByRole("button", { name: "Top up" }).click();
      await expect
        .poll(() => row.getByRole("status").textContent(), { timeout: 20_000 })
        .toMatch(
          /^Top up: This channel is closing \(its deposit can be withdrawn in \d+ min \d+ s \(at \d\d:\d\d:\d\d UTC\)\): it cannot be topped up or closed again\.$/,
        );
      expect((await channel()).deposit).toBe(before.deposit); // nothing was sent
      await tab.screenshot({ path: join(SHOTS, "revert-in-words.png"), fullPage: true });
      await context.clock.resume();
      await expect
        .poll(() => row.getByTestId("channel-state").textContent(), { timeout: 30_000 })
        .toMatch(/^closing: withdraw in \d+ (min|s)/);
    } finally {
      await context.close();
    }
  }, 90_000);

  it("a channel's close can be cancelled once: Keep open, then a second close is final", async () => {
    // The channel the previous test left closing.
    await page.goto(url("/channels"));
    await connect(7);
    const row = page.locator("table[data-testid=channels] tbody tr").first();
    const state = () => row.getByTestId("channel-state").textContent();
    await expect.poll(state, { timeout: 30_000 }).toMatch(/^closing: withdraw in/);
    expect(await row.getByTestId("close-once").count()).toBe(0);
    const keepOpen = row.getByRole("button", { name: "Keep open" });
    // At a phone's width, Keep open is in view.
    await page.setViewportSize(PHONE);
    const box = await keepOpen.boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
    await page.setViewportSize({ width: 1280, height: 900 });
    await keepOpen.click();
    await expect.poll(state, { timeout: 30_000 }).toBe("open");
    const note = row.getByTestId("close-once");
    expect(await note.textContent()).toBe(
      "Closing again is final: a channel's close can be cancelled once, and this one's was.",
    );
    const id = (await row.getAttribute("data-channel")) as Hex;
    const channel = await net.publicClient.readContract({
      address: net.addresses.channels,
      abi: paymentChannelsAbi,
      functionName: "getChannel",
      args: [id],
    });
    expect(channel.closeCancelled).toBe(true);
    const close = row.getByRole("button", { name: "Close", exact: true });
    expect(await close.getAttribute("aria-describedby")).toBe(await note.getAttribute("id"));
    await close.click();
    await expect.poll(state, { timeout: 30_000 }).toMatch(/^closing: withdraw in/);
    expect(await row.getByRole("button", { name: "Keep open" }).count()).toBe(0);
    expect(await note.textContent()).toBe(
      "This close is final: a channel's close can be cancelled once, and this one's was.",
    );
    // The contract agrees: a second cancel would be refused.
    await expect(
      net.publicClient.simulateContract({
        account: net.wallet(7).account,
        address: net.addresses.channels,
        abi: paymentChannelsAbi,
        functionName: "cancelClose",
        args: [id],
      }),
    ).rejects.toThrow(/PaymentChannelsCloseNotCancellable/);
    await page.screenshot({ path: join(SHOTS, "channel-close-final.png"), fullPage: true });
  }, 90_000);

  it("every page fits a phone's width, with every action in view", async () => {
    await page.setViewportSize(PHONE);
    const receipt = await net.publicClient.getContractEvents({
      address: net.addresses.registry,
      abi: mailboxRegistryAbi,
      eventName: "MailboxRegistered",
      fromBlock: 0n,
    });
    const pages: [string, string][] = [
      ["/", "table[data-testid=mailboxes] tbody tr"],
      [`/mailbox/${alpha}`, "[data-testid=history] li"],
      ["/channels", "table[data-testid=channels] tbody tr"],
      ["/operate", "[data-testid=operator-status]"],
      ["/methodology", "h1"],
      [`/tx/${receipt[0]!.transactionHash}`, "[data-testid=tx-events] li"],
    ];
    for (const [path, ready] of pages) {
      await page.goto(url(path));
      await page.locator(ready).first().waitFor({ timeout: 20_000 });
      const width = await pageWidth(page);
      await page.screenshot({
        path: join(SHOTS, `phone${path.replace(/[/?=]+/g, "-")}.png`),
        fullPage: true,
      });
      expect(width, `${path} is ${width} px wide`).toBeLessThanOrEqual(PHONE.width);
    }
    // The channel's actions are on screen, not behind a sideways scroll (its close is final, so
    // there is no Keep open: the previous test checked that one at this width).
    await page.goto(url("/channels"));
    const row = page.locator("table[data-testid=channels] tbody tr").first();
    for (const target of [row.getByRole("button", { name: "Withdraw" }), row.getByTestId("close-once")]) {
      const box = await target.boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
    }
    // The operator's page once registered (account #5, exiting).
    await connect(5);
    await page.goto(url("/operate"));
    await page.getByTestId("withdraw-countdown").waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: join(SHOTS, "phone-operate-registered.png"), fullPage: true });
  }, 90_000);
});
