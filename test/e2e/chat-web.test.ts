// The chat in the web app (`/chat` of apps/dashboard, built with `next build` and served by
// `next start`), used by people in real Chromium (playwright-core), each a browser context of their
// own (their own IndexedDB, identity, wallet and session key), against a real devnet: a Hardhat
// chain, two paid mailboxes (alpha, beta) and the prober. Nothing is mocked. The mailboxes also
// listen on /tls/ws with the test certificate and Chromium trusts exactly its key, so the page dials
// them as a browser on the internet must, over WebSockets with TLS (plain ws from a page:
// browser-sdk.test.ts).
//
// - "Use this mailbox" in the discovery table pins the mailbox the chat then uses.
// - Story A: Bob closes the page; Alice sends three messages, each stored by the mailbox that
//   signed its receipt; Bob comes back, sees the three in order, and Alice sees them delivered.
// - A group of three, one member offline: "delivered to 1 of 2", then "2 of 2".
// - Story B: Bob is away while two other people post 1,000 messages to #x; he comes back, watches
//   the catch-up's progress, reads all 1,000 in order exactly once.
// - A mailbox killed during a catch-up: the failover is written into the conversation, and every
//   message arrives exactly once.
// - Settlement: every channel Bob's browser opened was redeemed on-chain for exactly what its pages
//   cost (the prices on-chain, the pages and messages the app counted).
// No page logs an error or fails a request, except the killed mailbox's WebSockets.
// Screenshots go to test-results/chat-web/.

import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { createClientHost, createPostboxClient, queryStore } from "@postbox/client";
import { paymentChannelsAbi } from "@postbox/contracts";
import { fromBareHex, inboxTopic, StatusCode, toBareHex } from "@postbox/protocol";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type Hex, parseEther } from "viem";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startWebApp } from "../../scripts/bench/browser-client.ts";
import { type Devnet, POSTBOX_BIN, ROOT, startDevnet, TLS_FIXTURE } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";
import { ensureDashboardBuilt } from "../../scripts/lib/webapp.ts";
import { CHROMIUM, RUN_BROWSER_TESTS } from "../browser/harness.ts";
import { chromiumTrustFlag } from "../fixtures/tls/index.ts";

/** Ports Chromium refuses to connect to (net::ERR_UNSAFE_PORT) in and near this file's band. */
const UNSAFE_PORTS = new Set([1719, 1720, 1723, 2049, 3659]);
/**
 * The devnet from PORT (mailbox i's TCP, ws and tls/ws on PORT + 10 + 10·i, +1, +2), the prober on
 * PORT + 200, the web app on PORT + 300: a free block none of whose browser-facing ports Chromium
 * refuses.
 */
async function browserSafeBlock(): Promise<number> {
  for (;;) {
    const p = await freePortBlock(1_100);
    const facing = [p, p + 200, p + 300, ...[10, 20].flatMap((o) => [p + o + 1, p + o + 2])];
    if (!facing.some((x) => UNSAFE_PORTS.has(x))) return p;
  }
}
const PORT = await browserSafeBlock();
const SHOTS = join(ROOT, "test-results", "chat-web");
const ROOM_MESSAGES = 1_000;

const MAILBOXES = [
  { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
  { name: "beta", operator: 2, pricePerQuery: "0.02", pricePerMessage: "0.00005" },
];
/** A page of `messages` at a mailbox's on-chain prices. */
const cost = (name: string, pages: number, messages: number) => {
  const m = MAILBOXES.find((x) => x.name === name)!;
  return parseEther(m.pricePerQuery) * BigInt(pages) + parseEther(m.pricePerMessage) * BigInt(messages);
};

interface Person {
  name: string;
  /** The devnet account their wallet is. */
  wallet: number;
  context: BrowserContext;
  page?: Page | undefined;
  publicKey?: string;
}

describe.skipIf(!RUN_BROWSER_TESTS)("the chat in the web app, in Chromium, on a devnet", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-chat-web-"));
  const webPort = PORT + 300;
  const url = (path: string) => `http://127.0.0.1:${webPort}${path}`;
  let net: Devnet;
  let web: ChildProcess | undefined;
  let browser: Browser;
  const people: Record<string, Person> = {};
  /** Every browser error of every page, collected per test: each test ends with none. */
  const problems: string[] = [];
  /** Errors a test causes on purpose (a mailbox it kills). */
  let allowed: RegExp[] = [];
  const closing = new WeakSet<Page>();
  /** Bob's channels, read from his Payments tab after story B: settled at the end. */
  let bobChannels: { payee: string; channelId: Hex; spent: bigint; pages: number; messages: number }[] = [];
  const operator = (name: string) => net.mailboxes.find((m) => m.spec.name === name)!.operator.toLowerCase();
  const mailboxName = (id: string) => net.mailboxes.find((m) => m.operator.toLowerCase() === id)!.spec.name;

  const watch = (who: string, page: Page) => {
    page.on("console", (m) => {
      if (m.type() === "error" && !allowed.some((r) => r.test(m.text())))
        problems.push(`${who}: console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`${who}: pageerror: ${e.message}`));
    page.on("requestfailed", (r) => {
      const what = `${r.url()} ${r.failure()?.errorText}`;
      // A request cut short by a navigation or a closing page was cancelled, not failed.
      if (closing.has(page) || r.failure()?.errorText === "net::ERR_ABORTED") return;
      if (!allowed.some((x) => x.test(what))) problems.push(`${who}: request failed: ${what}`);
    });
  };

  const newPerson = async (name: string, wallet: number, phone = false) => {
    const context = await browser.newContext({
      viewport: phone ? { width: 390, height: 844 } : { width: 1280, height: 900 },
    });
    // Every text the catch-up's progress showed, as it changed (the assertions read it afterwards).
    await context.addInitScript(`
      const seen = [];
      globalThis.progressSeen = seen;
      new MutationObserver(() => {
        for (const el of document.querySelectorAll("[data-testid=catchup-count]")) {
          const t = el.textContent ?? "";
          if (seen.at(-1) !== t) seen.push(t);
        }
      }).observe(document, { subtree: true, childList: true, characterData: true });
    `);
    people[name] = { name, wallet, context };
    return people[name]!;
  };

  /** Opens the chat in a new tab of the person's browser (their IndexedDB, their remembered wallet). */
  const open = async (p: Person, path = "/chat") => {
    const page = await p.context.newPage();
    watch(p.name, page);
    p.page = page;
    await page.goto(url(path));
    return page;
  };
  /** Closes the person's tab: they are offline. */
  const close = async (p: Person) => {
    if (!p.page) return;
    closing.add(p.page);
    await p.page.close();
    p.page = undefined;
  };

  /** Picks devnet account #n in the wallet menu (top right). */
  const connectWallet = async (page: Page, n: number) => {
    const menu = page.getByLabel("Wallet", { exact: true });
    const value = await menu
      .locator("option", { hasText: new RegExp(`^Devnet account #${n}\\b`) })
      .getAttribute("value");
    await menu.selectOption(value!);
    await page.getByTestId("account").waitFor({ timeout: 15_000 });
  };

  /** The number of the last catch-up the page finished (0: none yet); a catch-up that failed throws. */
  const lastRun = async (page: Page) => {
    const error = page.getByTestId("catchup-error");
    if ((await error.count()) > 0)
      throw new Error(`the catch-up failed: ${await error.textContent({ timeout: 500 }).catch(() => "")}`);
    const done = page.getByTestId("catchup-done");
    if ((await done.count()) === 0) return 0;
    return Number(await done.getAttribute("data-run", { timeout: 500 }).catch(() => 0));
  };

  /** Waits until a catch-up (one after run `after`) has finished. */
  const waitCaughtUp = async (page: Page, timeout = 60_000, after = 0) => {
    await expect.poll(() => lastRun(page), { timeout, interval: 100 }).toBeGreaterThan(after);
  };

  /**
   * A first visit: a wallet, a new identity (or one exported elsewhere, pasted as `imported`), and
   * the first catch-up (it opens a channel).
   */
  const firstVisit = async (p: Person, imported?: string) => {
    const page = await open(p);
    await connectWallet(page, p.wallet);
    if (imported === undefined) await page.getByTestId("create-identity").click();
    else {
      await page.getByLabel(/^Exported key/).fill(imported);
      await page.getByRole("button", { name: "Import", exact: true }).click();
    }
    await waitCaughtUp(page);
    await tab(page, "You");
    p.publicKey = (await page.getByTestId("public-key").textContent())!.trim();
    expect(p.publicKey).toMatch(/^0[23][0-9a-f]{64}$/);
    await tab(page, "Conversations");
    return page;
  };

  const tab = (page: Page, name: string) => page.getByRole("tab", { name }).click();

  const contactLinkOf = async (page: Page) => {
    await tab(page, "You");
    const link = await page.getByTestId("contact-link").inputValue();
    await tab(page, "Conversations");
    return link;
  };

  /** Shows the conversation list (on a phone it hides while a conversation is open). */
  const toList = async (page: Page) => {
    const back = page.getByRole("button", { name: "All conversations" });
    if (await back.isVisible()) await back.click();
  };

  /** "Add a contact", "Join a room", "New group" or "Join a group", under the conversation list. */
  const start = async (page: Page, what: string) => {
    await toList(page);
    await page.getByRole("button", { name: what, exact: true }).click();
  };

  /** Opens a conversation from the list (on a phone, going back to the list first). */
  const openConversation = async (page: Page, id: string) => {
    const item = page.locator(`[data-testid=conversation][data-conversation="${id}"]`);
    await toList(page);
    await item.click();
    await page.locator(`[data-testid=thread][data-conversation="${id}"]`).waitFor();
  };

  const send = async (page: Page, text: string) => {
    await page.getByLabel("Message", { exact: true }).fill(text);
    await page.getByLabel("Message", { exact: true }).press("Enter");
  };

  /** The shown messages of the open conversation, oldest first. */
  const shown = (page: Page) =>
    page.getByTestId("message").evaluateAll((els) =>
      els.map((el) => ({
        id: el.getAttribute("data-id"),
        timestamp: Number(el.getAttribute("data-timestamp")),
        text: el.querySelector("[data-testid=message-text]")?.textContent ?? "",
        state: el.querySelector("[data-testid=message-state]")?.getAttribute("data-state") ?? null,
        storedBy: el.querySelector("[data-testid=stored-by]")?.textContent ?? null,
        delivered: el.querySelector("[data-testid=delivered-count]")?.textContent ?? null,
      })),
    );

  /** Every message of the open conversation: "Show earlier" until all are loaded. */
  const everything = async (page: Page) => {
    const total = Number(await page.getByTestId("thread-count").getAttribute("data-count"));
    const earlier = page.getByTestId("show-earlier");
    for (let i = 0; i < 50 && (await earlier.count()) > 0; i++) {
      const before = (await shown(page)).length;
      await earlier.click();
      await expect.poll(async () => (await shown(page)).length, { timeout: 30_000 }).toBeGreaterThan(before);
    }
    await expect.poll(async () => (await shown(page)).length, { timeout: 30_000 }).toBe(total);
    return shown(page);
  };

  const inOrder = (ms: { id: string | null; timestamp: number }[]) =>
    ms.every(
      (m, i) =>
        i === 0 ||
        ms[i - 1]!.timestamp < m.timestamp ||
        (ms[i - 1]!.timestamp === m.timestamp && ms[i - 1]!.id! < m.id!),
    );

  /** No sideways scroll at the page's width. */
  const fits = async (page: Page) => {
    const width = page.viewportSize()!.width;
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(width);
  };

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const proberPort = PORT + 200;
    const env = {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: "1",
      NEXT_PUBLIC_RPC_URL: `http://127.0.0.1:${PORT}`,
      NEXT_PUBLIC_PROBER_URL: `http://127.0.0.1:${proberPort}`,
    };
    // The app's build (`npm run build`; made here if it is missing or stale) serves this file's
    // chain and prober: its settings are read when it runs.
    const built = ensureDashboardBuilt();
    built.catch(() => undefined);
    net = await startDevnet({
      dataDir: join(dir, "net"),
      basePort: PORT,
      mailboxes: MAILBOXES,
      // Mailboxes also on /tls/ws (the test certificate), as browsers on the internet need: the
      // page dials that first, and Chromium trusts exactly that certificate's key.
      tls: true,
      prober: {
        key: 6,
        port: proberPort,
        flags: ["--probe-interval", "1s", "--canary-interval", "5s", "--registry-interval", "1s"],
      },
      stdio: "ignore",
    });
    await built;
    web = await startWebApp(env, webPort);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        chromiumTrustFlag(TLS_FIXTURE),
      ],
    });
  }, 600_000);

  afterEach(() => {
    const seen = problems.splice(0);
    expect(seen, "the browser reported errors").toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    web?.kill("SIGTERM");
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("'Use this mailbox' in the discovery table is the mailbox the chat uses", async () => {
    const dora = await newPerson("dora", 3);
    const page = await open(dora, "/");
    await connectWallet(page, dora.wallet);
    const beta = operator("beta");
    const row = page.locator(`tr[data-address="${beta}"]`);
    await row.getByTestId("use-mailbox").click();
    await row.getByTestId("chat-uses-mailbox").waitFor();
    // Only one mailbox is "the chat's".
    expect(await page.getByTestId("chat-uses-mailbox").count()).toBe(1);
    await page.getByRole("link", { name: "Chat", exact: true }).click();
    await page.getByTestId("create-identity").click();
    await waitCaughtUp(page);
    await tab(page, "Mailboxes");
    const pinned = page.locator(`[data-testid=mailbox-row][data-mailbox="${beta}"]`);
    await expect.poll(() => pinned.getAttribute("data-pinned")).toBe("true");
    expect(await pinned.getByTestId("mailbox-chance").textContent()).toBe("100 %");
    await expect
      .poll(() => pinned.getByTestId("mailbox-state").textContent(), { timeout: 20_000 })
      .toMatch(/^connected · \d+ ms/);
    // Over WebSockets with TLS, by the certificate's name (what a browser on the internet dials).
    expect(await pinned.getByTestId("mailbox-address").textContent()).toMatch(
      /^\/dns4\/localhost\/tcp\/\d+\/tls\/ws$/,
    );
    expect(
      await page
        .locator(`[data-testid=mailbox-row][data-mailbox="${operator("alpha")}"]`)
        .getAttribute("data-pinned"),
    ).toBeNull();
    await shot(page, "mailboxes");
    // What she sends is stored by beta.
    await tab(page, "Conversations");
    await start(page, "Join a room");
    await page.getByLabel("Room", { exact: true }).fill("#x");
    await page.getByRole("button", { name: "Join room" }).click();
    await page.getByTestId("thread-name").filter({ hasText: "#x" }).waitFor();
    await send(page, "hello from dora");
    await expect
      .poll(async () => (await shown(page)).map((m) => [m.text, m.state, m.storedBy]), { timeout: 20_000 })
      .toEqual([["hello from dora", "stored", "beta"]]);
    // The page on the mailbox itself says so too.
    await page.goto(url(`/mailbox/${beta}`));
    await page.getByTestId("chat-uses-mailbox").waitFor();
    await close(dora);
  }, 120_000);

  it("story A: Bob is offline; Alice's three messages are stored by a mailbox, Bob reads them in order, Alice sees them delivered", async () => {
    const alice = await newPerson("alice", 4);
    const bob = await newPerson("bob", 5, true); // on a phone
    const pa = await firstVisit(alice);
    const pb = await firstVisit(bob);
    await fits(pb);
    // They exchange contact links.
    await pb.goto(await contactLinkOf(pa));
    await pb.getByTestId("link-offer").getByLabel("Name").fill("alice");
    await pb.getByRole("button", { name: "Add contact" }).click();
    await pb.getByTestId("thread-name").filter({ hasText: "alice" }).waitFor();
    await pa.goto(await contactLinkOf(pb));
    await pa.getByTestId("link-offer").getByLabel("Name").fill("bob");
    await pa.getByRole("button", { name: "Add contact" }).click();
    await pa.getByTestId("thread-name").filter({ hasText: "bob" }).waitFor();
    await fits(pb);
    await close(bob);

    const texts = ["Hi Bob", "Are you there?", "Call me when you are back"];
    for (const t of texts) await send(pa, t);
    await expect
      .poll(async () => (await shown(pa)).map((m) => [m.text, m.state]), { timeout: 30_000 })
      .toEqual(texts.map((t) => [t, "stored"]));
    // Each names the mailbox whose receipt it has, and that mailbox holds it (a free presence query).
    const sent = await shown(pa);
    const host = await createClientHost();
    try {
      for (const m of sent) {
        const mailbox = net.mailboxes.find((x) => x.spec.name === m.storedBy)!;
        expect(mailbox, `stored by ${m.storedBy}`).toBeDefined();
        const res = await queryStore(host, [multiaddr(mailbox.addr)], {
          contentTopics: [inboxTopic(fromBareHex(bob.publicKey!))],
          includeData: false,
          ids: [fromBareHex(m.id!)],
        });
        expect(res.status).toBe(StatusCode.OK);
        expect(res.ids.map(toBareHex)).toEqual([m.id]);
      }
    } finally {
      await host.stop();
    }
    await shot(pa, "story-a-stored");

    // Bob comes back: the catch-up brings the three, in order, once.
    const pb2 = await open(bob);
    await waitCaughtUp(pb2);
    await openConversation(pb2, `dm:${alice.publicKey}`);
    await expect.poll(async () => (await shown(pb2)).map((m) => m.text)).toEqual(texts);
    expect(inOrder(await shown(pb2))).toBe(true);
    await fits(pb2);
    await shot(pb2, "story-a-bob-phone");
    // His app acknowledges them: Alice sees each delivered.
    await expect
      .poll(async () => (await shown(pa)).map((m) => [m.state, m.delivered]), { timeout: 30_000 })
      .toEqual(texts.map(() => ["delivered", "✓✓ delivered"]));
    await close(alice);
  }, 180_000);

  it("a group of three, one offline: delivered to 1 of 2, then to 2 of 2 when she comes back", async () => {
    const alice = people.alice!;
    const bob = people.bob!;
    const carol = await newPerson("carol", 7);
    const pa = await open(alice);
    await waitCaughtUp(pa);
    await start(pa, "New group");
    await pa.getByLabel("Group name (yours only)").fill("trio");
    await pa.getByRole("button", { name: "Create group" }).click();
    const link = await pa.getByTestId("group-link").inputValue();
    expect(link).toMatch(/\/chat#group=[0-9a-f]{32}&key=[0-9a-f]{64}&name=trio$/);
    const group = `group:${/#group=([0-9a-f]{32})/.exec(link)![1]}`;

    const pb = bob.page ?? (await open(bob));
    await pb.goto(link);
    await pb.getByRole("button", { name: "Join group" }).click();
    await pb.getByTestId("thread-name").filter({ hasText: "trio" }).waitFor();
    // Carol brings the identity she made with the CLI: she pastes both lines of `postbox id
    // --export` (a paste whose lines are mixed up is refused first, by the CLI's own rule).
    const exported = spawnSync(process.execPath, [POSTBOX_BIN, "id", "--export", "--yes"], {
      encoding: "utf8",
      env: { ...process.env, POSTBOX_CLIENT_DIR: join(dir, "carol-cli") },
    });
    expect(exported.status, exported.stderr).toBe(0);
    const [publicLine, privateLine] = exported.stdout.trim().split("\n");
    expect(privateLine).toMatch(/^privateKey [0-9a-f]{64}$/);
    const other = `publicKey 02${"ab".repeat(32)}`;
    const setup = await open(carol);
    await setup.getByLabel(/^Exported key/).fill(`${other}\n${privateLine}`);
    await expect
      .poll(() => setup.getByTestId("field-error").textContent())
      .toContain("is not this private key's");
    expect(await setup.getByRole("button", { name: "Import", exact: true }).isDisabled()).toBe(true);
    await close(carol);
    const pc = await firstVisit(carol, exported.stdout);
    expect(carol.publicKey).toBe(publicLine!.slice("publicKey ".length));
    await pc.goto(link);
    await pc.getByRole("button", { name: "Join group" }).click();
    await pc.getByTestId("thread-name").filter({ hasText: "trio" }).waitFor();
    // Alice's app has heard both join.
    await expect
      .poll(() => pa.getByTestId("group-members").getAttribute("data-count"), { timeout: 30_000 })
      .toBe("2");
    await close(carol);

    await send(pa, "dinner at eight?");
    await send(pa, "bring nothing");
    await expect
      .poll(async () => (await shown(pa)).map((m) => [m.text, m.state, m.delivered]), { timeout: 30_000 })
      .toEqual([
        ["dinner at eight?", "delivered", "✓✓ delivered to 1 of 2"],
        ["bring nothing", "delivered", "✓✓ delivered to 1 of 2"],
      ]);
    await expect
      .poll(async () => (await shown(pb)).map((m) => m.text))
      .toEqual(["dinner at eight?", "bring nothing"]);

    const pc2 = await open(carol);
    await waitCaughtUp(pc2);
    await openConversation(pc2, group);
    await expect
      .poll(async () => (await shown(pc2)).map((m) => m.text))
      .toEqual(["dinner at eight?", "bring nothing"]);
    await expect
      .poll(async () => (await shown(pa)).map((m) => m.delivered), { timeout: 30_000 })
      .toEqual(["✓✓ delivered to 2 of 2", "✓✓ delivered to 2 of 2"]);
    await shot(pa, "group");
    await close(alice);
    await close(bob);
    await close(carol);
  }, 180_000);

  it(`story B: Bob is away while ${ROOM_MESSAGES.toLocaleString("en-US")} messages are posted to #x; he comes back and reads them all, in order, once`, async () => {
    const bob = people.bob!;
    const pb = await open(bob);
    await waitCaughtUp(pb);
    await start(pb, "Join a room");
    await pb.getByLabel("Room", { exact: true }).fill("#x");
    const before = await lastRun(pb);
    await pb.getByRole("button", { name: "Join room" }).click();
    await pb.getByTestId("thread-name").filter({ hasText: "#x" }).waitFor();
    // Joining catches the room up (one page): he leaves once it is paid for and counted.
    await waitCaughtUp(pb, 60_000, before);
    await close(bob);

    // Two other people post (the Node SDK, each its own identity, message format v2).
    const sent: string[] = [];
    await Promise.all(
      [0, 1].map(async (s) => {
        const sender = await createPostboxClient({
          location: join(dir, `sender-${s}`),
          chain: { publicClient: net.publicClient, registry: net.addresses.registry },
        });
        try {
          const texts = Array.from({ length: ROOM_MESSAGES / 2 }, (_, i) => `message ${s}-${i}`);
          sent.push(...texts);
          await sender.sendMany("#x", texts);
        } finally {
          await sender.stop();
        }
      }),
    );

    const pb2 = await open(bob);
    await waitCaughtUp(pb2, 120_000);
    // The progress showed "N of ≈ M" while it ran.
    const progress = await pb2.evaluate(
      () => (globalThis as unknown as { progressSeen: string[] }).progressSeen,
    );
    expect(
      progress.some((t) => /^[\d,]+ of ≈ [\d,]+$/.test(t)),
      progress.join(" | "),
    ).toBe(true);
    expect(await pb2.getByTestId("catchup-done").textContent()).toMatch(/1,000 new \(#x 1,000\)/);
    await openConversation(pb2, "room:x");
    await expect
      .poll(() => pb2.getByTestId("thread-count").getAttribute("data-count"))
      .toBe(String(ROOM_MESSAGES));
    const all = await everything(pb2);
    expect(all).toHaveLength(ROOM_MESSAGES);
    expect(new Set(all.map((m) => m.id)).size).toBe(ROOM_MESSAGES);
    expect(all.map((m) => m.text).sort()).toEqual([...sent].sort());
    expect(inOrder(all)).toBe(true);
    await fits(pb2);

    // What each channel was paid, and what the app counted it bought there.
    await tab(pb2, "Payments");
    await pb2.getByTestId("channel-row").first().waitFor();
    await fits(pb2);
    await shot(pb2, "story-b-payments-phone");
    // Every panel fits a phone.
    for (const name of ["Mailboxes", "You"]) {
      await tab(pb2, name);
      await fits(pb2);
    }
    await tab(pb2, "Payments");
    bobChannels = await pb2.getByTestId("channel-row").evaluateAll((rows) =>
      rows.map((r) => {
        const bought = r.querySelector("[data-testid=channel-bought]")!;
        return {
          payee: r.getAttribute("data-payee")!,
          channelId: r.getAttribute("data-channel") as `0x${string}`,
          spent: BigInt(r.querySelector("[data-testid=channel-spent]")!.getAttribute("data-wei")!),
          pages: Number(bought.getAttribute("data-pages")),
          messages: Number(bought.getAttribute("data-messages")),
        };
      }),
    );
    expect(bobChannels.length).toBeGreaterThan(0);
    // He bought at least the room's 1,000 and the inbox's 3, in at least ten pages (and the
    // groups' joins and acks, and each catch-up's overlap with the one before).
    expect(bobChannels.reduce((a, c) => a + c.messages, 0)).toBeGreaterThanOrEqual(ROOM_MESSAGES + 3);
    expect(bobChannels.reduce((a, c) => a + c.pages, 0)).toBeGreaterThanOrEqual(10);
    for (const c of bobChannels) expect(c.spent).toBe(cost(mailboxName(c.payee), c.pages, c.messages));
    await close(bob);
  }, 240_000);

  it("a mailbox killed during the catch-up: the conversation says so, and every message arrives once", async () => {
    const dora = people.dora!;
    const beta = net.mailboxes.find((m) => m.spec.name === "beta")!;
    const ports = beta.listen.map((a) => a.split("/")[4]).join("|");
    allowed = [new RegExp(`wss?://(127\\.0\\.0\\.1|localhost):(${ports})/`)];
    const page = await dora.context.newPage();
    watch(dora.name, page);
    dora.page = page;
    // A slower phone: the catch-up takes long enough to be interrupted.
    const cdp = await dora.context.newCDPSession(page);
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
    try {
      await page.goto(url("/chat"));
      // Dora is pinned to beta: once part of #x has arrived from it, beta dies.
      await page.waitForFunction(
        `/^[\\d,]+ of ≈/.test(document.querySelector("[data-testid=catchup-progress][data-feed='room:x'] [data-testid=catchup-count]")?.textContent ?? "")`,
        undefined,
        { polling: "raf", timeout: 60_000 },
      );
      await beta.stop("SIGKILL");
      await waitCaughtUp(page, 120_000);
      const notice = page.getByTestId("failover-notice");
      await notice.first().waitFor();
      expect(await notice.first().textContent()).toBe("mailbox beta unreachable — using alpha");
      await expect
        .poll(() => page.getByTestId("thread-count").getAttribute("data-count"))
        .toBe(String(ROOM_MESSAGES + 1));
      const all = await everything(page);
      expect(all).toHaveLength(ROOM_MESSAGES + 1);
      expect(new Set(all.map((m) => m.id)).size).toBe(ROOM_MESSAGES + 1);
      expect(new Set(all.map((m) => m.text)).size).toBe(ROOM_MESSAGES + 1);
      expect(inOrder(all)).toBe(true);
      await tab(page, "Mailboxes");
      expect(
        await page
          .locator(
            `[data-testid=mailbox-row][data-mailbox="${operator("beta")}"] [data-testid=mailbox-state]`,
          )
          .textContent(),
      ).toMatch(/^unreachable|^graylisted/);
      expect(await page.getByTestId("failover-log").textContent()).toContain(
        "mailbox beta unreachable — using alpha",
      );
      await shot(page, "failover");
    } finally {
      await close(dora);
      allowed = [];
    }
  }, 240_000);

  it("settles on-chain: each of Bob's channels was redeemed for exactly what its pages cost", async () => {
    expect(bobChannels.length).toBeGreaterThan(0);
    const beta = net.mailboxes.find((m) => m.spec.name === "beta")!;
    await beta.restart();
    // A mailbox redeems what it earned as it stops.
    for (const m of net.mailboxes) await m.stop();
    for (const c of bobChannels) {
      const onChain = await net.publicClient.readContract({
        address: net.addresses.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [c.channelId],
      });
      expect(onChain.payee.toLowerCase()).toBe(c.payee);
      expect(onChain.paid, `${mailboxName(c.payee)} redeemed`).toBe(c.spent);
      expect(onChain.paid).toBe(cost(mailboxName(c.payee), c.pages, c.messages));
    }
  }, 120_000);
});
