// The dashboard in a real browser (Debian's Chromium through playwright-core) against a running
// local network: two mailboxes and a prober on a Hardhat chain. The mailboxes appear with the
// prober's figures; an operator registers a new mailbox and it appears; a price announcement shows
// its countdown; a user opens a channel and sees it. Screenshots go to test-results/dashboard/.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Devnet, ROOT, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

// The devnet from PORT, the prober on PORT + 200, the dashboard on PORT + 300.
const PORT = await freePortBlock(20_000);

const CHROMIUM = process.env.POSTBOX_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(ROOT, "test-results", "dashboard");
const APP = join(ROOT, "apps", "dashboard");
const NEXT = join(ROOT, "node_modules", ".bin", "next");

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("dashboard in a real browser", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-dashboard-"));
  const port = PORT;
  const webPort = port + 300;
  const dist = ".next-test"; // one name, so Next does not add an include to tsconfig.json per run
  let net: Devnet;
  let web: ChildProcess | undefined;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const url = (path: string) => `http://127.0.0.1:${webPort}${path}`;

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
    const env = {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: "1",
      NEXT_PUBLIC_RPC_URL: net.rpc,
      NEXT_PUBLIC_PROBER_URL: net.proberUrl!,
      POSTBOX_DASHBOARD_DIST: dist,
    };
    const build = spawnSync(NEXT, ["build", APP], { cwd: ROOT, env, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`);
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
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    mkdirSync(SHOTS, { recursive: true });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    web?.kill("SIGTERM");
    await net?.stop();
    rmSync(join(APP, dist), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  // Picks a devnet account in the wallet menu. The dashboard remembers the last one across
  // reloads (and reconnects it asynchronously), so start from a browser that remembers nothing.
  const connect = async (account: number) => {
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    const select = page.getByLabel("Wallet", { exact: true });
    const value = await select
      .locator("option", { hasText: `Devnet account #${account}` })
      .getAttribute("value");
    await select.selectOption(value!);
    await page
      .getByTestId("account")
      .waitFor({ timeout: 15_000 })
      .catch(async () => {
        throw new Error(`not connected: ${await page.locator("header").textContent()}`);
      });
    expect(await page.getByTestId("account").textContent()).toContain(`Devnet account #${account}`);
  };

  it("lists the mailboxes with the prober's figures", async () => {
    await page.goto(url("/"));
    const rows = page.locator("table[data-testid=mailboxes] tbody tr");
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    await expect
      .poll(() => page.locator("td[data-testid=uptime24h]").first().textContent(), { timeout: 30_000 })
      .toBe("100.0%");
    const alpha = page.locator(`tr[data-address="${net.mailboxes[0]!.operator.toLowerCase()}"]`);
    await expect.poll(() => alpha.locator("td[data-testid=score]").textContent()).toMatch(/^0\.\d{3}$/);
    await page.screenshot({ path: join(SHOTS, "mailboxes.png"), fullPage: true });
    // The detail page: score breakdown, charts and the registry history.
    await alpha.locator("a").first().click();
    await page.getByTestId("detail-score").waitFor();
    await expect
      .poll(() => page.locator("table[data-testid=history] tbody tr").count(), { timeout: 20_000 })
      .toBeGreaterThan(0);
    expect(await page.locator("table[data-testid=history]").textContent()).toContain("MailboxRegistered");
    await page.screenshot({ path: join(SHOTS, "mailbox.png"), fullPage: true });
  }, 90_000);

  it("an operator registers a new mailbox, and it appears", async () => {
    await page.goto(url("/operate"));
    await connect(5);
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 20_000 })
      .toBe("not registered");
    await page.locator("input[name=peerId]").fill("12D3KooWDashboardTestPeer");
    await page.locator("input[name=multiaddrs]").fill("/ip4/127.0.0.1/tcp/9");
    await page.getByRole("button", { name: "Register" }).click();
    await expect
      .poll(() => page.getByTestId("operator-status").textContent(), { timeout: 30_000 })
      .toBe("active");
    await page.goto(url("/"));
    const address = net.wallet(5).account.address.toLowerCase();
    await expect
      .poll(() => page.locator(`tr[data-address="${address}"]`).count(), { timeout: 30_000 })
      .toBe(1);
    await page.screenshot({ path: join(SHOTS, "registered.png"), fullPage: true });
  }, 90_000);

  it("a price announcement shows its countdown", async () => {
    await page.goto(url("/operate"));
    await page.getByTestId("operator-status").waitFor();
    await page.locator("input[name=newPricePerQuery]").fill("0.05");
    await page.getByRole("button", { name: "Announce price" }).click();
    await expect
      .poll(() => page.getByTestId("price-countdown").textContent(), { timeout: 30_000 })
      .toMatch(/applies in \d+ (min|s)/);
    await page.screenshot({ path: join(SHOTS, "price-countdown.png"), fullPage: true });
  }, 60_000);

  it("a user opens a channel and sees it", async () => {
    await page.goto(url("/channels"));
    await connect(7);
    const alpha = net.mailboxes[0]!.operator.toLowerCase();
    await expect
      .poll(() => page.locator(`select[name=payee] option[value="${alpha}"]`).count(), { timeout: 20_000 })
      .toBe(1);
    await page.locator("select[name=payee]").selectOption(alpha);
    await page.locator("input[name=deposit]").fill("12");
    await page.getByRole("button", { name: "Open" }).click();
    const row = page.locator("table[data-testid=channels] tbody tr");
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    expect(await row.first().textContent()).toContain("0 / 12 SNT");
    expect(await row.first().getByTestId("channel-state").textContent()).toBe("open");
    // Close: the withdraw countdown starts.
    await row.first().getByRole("button", { name: "Close" }).click();
    await expect
      .poll(() => row.first().getByTestId("channel-state").textContent(), { timeout: 30_000 })
      .toMatch(/closing: withdraw in \d+ (min|s)/);
    await page.screenshot({ path: join(SHOTS, "channels.png"), fullPage: true });
  }, 90_000);

  it("works on a phone-sized screen and logged no browser errors", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(url("/"));
    await page.locator("table[data-testid=mailboxes]").waitFor();
    await page.screenshot({ path: join(SHOTS, "phone.png"), fullPage: true });
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});
