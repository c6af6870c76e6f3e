// A mailbox reachable from browsers on the internet: `postbox node start` listening on `/tls/ws`
// with a certificate (issue 18 §3). Real processes: the mailbox is the CLI, the Node client its own
// process trusting the certificate through NODE_EXTRA_CA_CERTS, the browser real Chromium trusting
// exactly the certificate's key (`--ignore-certificate-errors-spki-list`). Without the trust, both
// fail; SIGHUP gives new connections a renewed certificate while open ones carry on.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { connect as tlsConnect } from "node:tls";
import { mailboxRegistryAbi } from "@postbox/contracts";
import { spkiPin } from "@postbox/node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_MAILBOXES, type Devnet, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";
import { type BrowserHarness, REPO, RUN_BROWSER_TESTS, startBrowserHarness } from "../browser/harness.ts";
import { chromiumTrustFlag, TLS_FIXTURE, TLS_FIXTURE_RENEWED } from "../fixtures/tls/index.ts";
import type { ProbeResult } from "../fixtures/tls/probe.ts";

// The mailbox: TCP on PORT, /ws on PORT + 1, /tls/ws on PORT + 2; the devnet from PORT + 10 (its
// chain there, its mailbox from PORT + 20, HTTP from PORT + 110).
const PORT = await freePortBlock(4_000, 120);
const BIN = join(REPO, "packages", "cli", "bin", "postbox.js");
const NODE_CLIENT = join(REPO, "test", "fixtures", "tls", "node-client.ts");

/** The SPKI pin of the certificate a new TLS connection to `port` is shown. */
function servedPin(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      rejectUnauthorized: false,
    });
    socket.once("secureConnect", () => {
      const pin = spkiPin(socket.getPeerX509Certificate()!);
      socket.destroy();
      resolve(pin);
    });
    socket.once("error", reject);
  });
}

/** Calls `each` with every JSON line a process writes. */
function onJsonLines(stream: NodeJS.ReadableStream, each: (value: unknown) => void): void {
  createInterface({ input: stream }).on("line", (line) => each(JSON.parse(line)));
}

/** A Node client process (node-client.ts): one probe per line written, one JSON result per line read. */
function nodeClient(address: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [NODE_CLIENT, address], {
    cwd: REPO,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NODE_EXTRA_CA_CERTS: "", ...env },
  });
  const results: ProbeResult[] = [];
  let err = "";
  onJsonLines(child.stdout!, (line) => results.push(line as ProbeResult));
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return {
    async probe(text: string): Promise<ProbeResult> {
      const n = results.length;
      child.stdin!.write(`${text}\n`);
      await vi.waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`the client exited (${child.exitCode}): ${err}`);
          expect(results.length).toBeGreaterThan(n);
        },
        { timeout: 30_000, interval: 50 },
      );
      return results[n]!;
    },
    async close() {
      child.stdin!.end();
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
    },
  };
}

/** Runs a probe in a page of `harness` against `address`. */
async function probeFrom(harness: BrowserHarness, address: string, text: string): Promise<ProbeResult> {
  const page = await harness.newPage();
  try {
    return await page.evaluate(
      async ([a, t]) => {
        const { openProbe } = globalThis as unknown as {
          openProbe: (
            a: string,
          ) => Promise<{ probe(t: string): Promise<ProbeResult>; close(): Promise<void> }>;
        };
        const session = await openProbe(a);
        try {
          return await session.probe(t);
        } finally {
          await session.close();
        }
      },
      [address, text] as const,
    );
  } finally {
    await page.close();
  }
}

/** The page of the browser probes: probe.ts, bundled for the browser. */
const PROBE_PAGE = {
  contents: `import { openProbe } from "./test/fixtures/tls/probe.ts";
globalThis.openProbe = openProbe;
globalThis.postboxSuites = {};`,
};

describe("a mailbox on /tls/ws", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-tls-"));
  // The mailbox reads its certificate from these paths; the SIGHUP test replaces the files.
  const cert = join(dir, "fullchain.pem");
  const key = join(dir, "privkey.pem");
  let mailbox: ChildProcess;
  const logs: Record<string, unknown>[] = [];
  let peerId = "";
  let tlsAddr = "";

  const logged = (msg: string) => logs.filter((l) => l.msg === msg);

  beforeAll(async () => {
    copyFileSync(TLS_FIXTURE.certPath, cert);
    copyFileSync(TLS_FIXTURE.keyPath, key);
    mailbox = spawn(
      process.execPath,
      [
        BIN,
        "node",
        "start",
        "--free",
        "--data-dir",
        join(dir, "mailbox"),
        "--listen",
        `/ip4/127.0.0.1/tcp/${PORT}`,
        "--listen",
        `/ip4/127.0.0.1/tcp/${PORT + 1}/ws`,
        "--listen",
        `/ip4/127.0.0.1/tcp/${PORT + 2}/tls/ws`,
        "--tls-cert",
        cert,
        "--tls-key",
        key,
        "--http-port",
        "0",
      ],
      { stdio: ["ignore", "pipe", "inherit"], detached: true },
    );
    onJsonLines(mailbox.stdout!, (line) => logs.push(line as Record<string, unknown>));
    await vi.waitFor(
      () => {
        if (mailbox.exitCode !== null) throw new Error(`the mailbox exited (${mailbox.exitCode})`);
        expect(logged("tls certificate")).toHaveLength(1);
      },
      { timeout: 30_000, interval: 50 },
    );
    peerId = String(logged("mailbox started")[0]!.peerId);
    tlsAddr = `/ip4/127.0.0.1/tcp/${PORT + 2}/tls/ws/p2p/${peerId}`;
  });

  afterAll(async () => {
    if (mailbox && mailbox.exitCode === null) {
      process.kill(-mailbox.pid!, "SIGINT");
      await new Promise((r) => mailbox.once("exit", r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a /tls/ws listen address without a certificate, in one line", () => {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        "node",
        "start",
        "--free",
        "--data-dir",
        join(dir, "none"),
        "--listen",
        "/ip4/127.0.0.1/tcp/1/tls/ws",
      ],
      { encoding: "utf8", env: { ...process.env, POSTBOX_TLS_CERT: "", POSTBOX_TLS_KEY: "" } },
    );
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "postbox: invalid setting listen: /ip4/127.0.0.1/tcp/1/tls/ws is WebSockets over TLS and needs a certificate: --tls-cert FILE or POSTBOX_TLS_CERT, and --tls-key FILE or POSTBOX_TLS_KEY (tls.cert, tls.key in --config FILE)\n",
    );
  });

  it("logs its /tls/ws address and certificate, serves TLS there only, and announces it", async () => {
    expect(logged("mailbox started")[0]!.listen).toEqual([
      `/ip4/127.0.0.1/tcp/${PORT}/p2p/${peerId}`,
      `/ip4/127.0.0.1/tcp/${PORT + 1}/ws/p2p/${peerId}`,
      tlsAddr,
    ]);
    expect(logged("tls certificate")[0]).toMatchObject({
      subjectAltName: "DNS:localhost, IP Address:127.0.0.1",
      validTo: "2099-12-31T23:59:59.000Z",
      spki: TLS_FIXTURE.spkiBase64,
    });
    expect(await servedPin(PORT + 2)).toBe(TLS_FIXTURE.spkiBase64);
    await expect(servedPin(PORT + 1)).rejects.toThrow(); // plain /ws stays plain
    // What the mailbox announces (identify), asked over /tls/ws by the CLI.
    const info = spawnSync(process.execPath, [BIN, "node", "info", tlsAddr, "--json"], {
      encoding: "utf8",
      env: { ...process.env, NODE_EXTRA_CA_CERTS: TLS_FIXTURE.certPath },
    });
    expect(info.stderr).toBe("");
    expect(JSON.parse(info.stdout)).toMatchObject({
      peerId,
      mode: "free",
      addresses: expect.arrayContaining([`/ip4/127.0.0.1/tcp/${PORT + 2}/tls/ws`]),
    });
  });

  it("a Node client trusting the certificate (NODE_EXTRA_CA_CERTS) pushes and queries over /tls/ws; one that does not trust it cannot", async () => {
    for (const address of [tlsAddr, `/dns4/localhost/tcp/${PORT + 2}/tls/ws/p2p/${peerId}`]) {
      const client = nodeClient(address, { NODE_EXTRA_CA_CERTS: TLS_FIXTURE.certPath });
      try {
        const r = await client.probe(`from node over ${address}`);
        expect(r.error).toBeUndefined();
        expect(r).toMatchObject({ ok: true, peerId, remoteAddr: address });
        expect(r.texts).toContain(`from node over ${address}`);
      } finally {
        await client.close();
      }
    }
    const untrusting = nodeClient(tlsAddr, {});
    try {
      const r = await untrusting.probe("never stored");
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/MailboxUnreachableError/);
    } finally {
      await untrusting.close();
    }
  });

  describe.runIf(RUN_BROWSER_TESTS)("Chromium", () => {
    it("dials it with the certificate's SPKI pin, from an http page, by IP and by name", async () => {
      const harness = await startBrowserHarness({
        entry: PROBE_PAGE,
        args: [chromiumTrustFlag(TLS_FIXTURE)],
      });
      try {
        for (const address of [tlsAddr, `/dns4/localhost/tcp/${PORT + 2}/tls/ws/p2p/${peerId}`]) {
          const r = await probeFrom(harness, address, `from chromium over ${address}`);
          expect(r.error).toBeUndefined();
          expect(r).toMatchObject({ ok: true, peerId, remoteAddr: address });
          expect(r.texts).toContain(`from chromium over ${address}`);
        }
        expect(harness.problems).toEqual([]);
      } finally {
        await harness.close();
      }
    });

    it("cannot dial it without the pin (a certificate no browser trusts)", async () => {
      const harness = await startBrowserHarness({ entry: PROBE_PAGE });
      try {
        const r = await probeFrom(harness, tlsAddr, "never stored");
        expect(r.ok).toBe(false);
        expect(r.error).toMatch(/MailboxUnreachableError/);
        expect(harness.problems.join("\n")).toMatch(
          new RegExp(`WebSocket connection to 'wss://127\\.0\\.0\\.1:${PORT + 2}/' failed`),
        );
      } finally {
        await harness.close();
      }
    });
  });

  it("SIGHUP: new connections get the renewed certificate, open ones carry on; unusable files keep the old one", async () => {
    // The client trusts both certificates: it can dial before and after the renewal.
    const both = join(dir, "both.pem");
    writeFileSync(
      both,
      readFileSync(TLS_FIXTURE.certPath, "utf8") + readFileSync(TLS_FIXTURE_RENEWED.certPath, "utf8"),
    );
    const client = nodeClient(tlsAddr, { NODE_EXTRA_CA_CERTS: both });
    try {
      const before = await client.probe("before the renewal");
      expect(before).toMatchObject({ ok: true, remoteAddr: tlsAddr });

      // Half-renewed files (the new certificate, the old key): refused, the old certificate stays.
      copyFileSync(TLS_FIXTURE_RENEWED.certPath, cert);
      process.kill(-mailbox.pid!, "SIGHUP");
      await vi.waitFor(
        () =>
          expect(logged("tls certificate not reloaded: new connections keep the previous one")).toHaveLength(
            1,
          ),
        {
          timeout: 10_000,
          interval: 50,
        },
      );
      expect(
        logged("tls certificate not reloaded: new connections keep the previous one")[0]!.err,
      ).toMatchObject({
        type: "ConfigError",
        message: `invalid setting tls.key: ${key} is not the key of the certificate in ${cert}`,
      });
      expect(await servedPin(PORT + 2)).toBe(TLS_FIXTURE.spkiBase64);

      copyFileSync(TLS_FIXTURE_RENEWED.keyPath, key);
      process.kill(-mailbox.pid!, "SIGHUP");
      await vi.waitFor(() => expect(logged("tls certificate reloaded")).toHaveLength(1), {
        timeout: 10_000,
        interval: 50,
      });
      expect(logged("tls certificate reloaded")[0]).toMatchObject({ spki: TLS_FIXTURE_RENEWED.spkiBase64 });
      expect(await servedPin(PORT + 2)).toBe(TLS_FIXTURE_RENEWED.spkiBase64);
      await expect(servedPin(PORT + 1)).rejects.toThrow(); // the plain /ws listener stays plain
      expect(mailbox.exitCode).toBeNull();

      // The connection opened before the renewal still serves (the same one: nothing redialled).
      const after = await client.probe("after the renewal");
      expect(after).toMatchObject({ ok: true, connectionId: before.connectionId });
      expect(after.texts).toEqual(expect.arrayContaining(["before the renewal", "after the renewal"]));
    } finally {
      await client.close();
    }
    // A new client that trusts only the renewed certificate gets in.
    const renewed = nodeClient(tlsAddr, { NODE_EXTRA_CA_CERTS: TLS_FIXTURE_RENEWED.certPath });
    try {
      expect(await renewed.probe("with the renewed certificate")).toMatchObject({ ok: true });
    } finally {
      await renewed.close();
    }
  });
});

describe("startDevnet({ tls: true })", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-tls-devnet-"));
  let devnet: Devnet | undefined;

  afterAll(async () => {
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a mailbox listens on /tls/ws and registers /dns4/localhost/…/tls/ws, which Node, Chromium and postbox mailboxes reach", async () => {
    devnet = await startDevnet({
      dataDir: dir,
      basePort: PORT + 10,
      mailboxes: [DEFAULT_MAILBOXES[0]!],
      tls: true,
      stdio: "ignore",
    });
    const alpha = devnet.mailboxes[0]!;
    const tcp = PORT + 20;
    expect(alpha.listen).toEqual([
      `/ip4/127.0.0.1/tcp/${tcp}`,
      `/ip4/127.0.0.1/tcp/${tcp + 1}/ws`,
      `/ip4/127.0.0.1/tcp/${tcp + 2}/tls/ws`,
    ]);
    expect(alpha.secureAddr).toBe(`/dns4/localhost/tcp/${tcp + 2}/tls/ws/p2p/${alpha.peerId}`);
    const entry = await devnet.publicClient.readContract({
      address: devnet.addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailbox",
      args: [alpha.operator],
    });
    expect(entry.multiaddrs).toEqual([
      `/ip4/127.0.0.1/tcp/${tcp}`,
      `/ip4/127.0.0.1/tcp/${tcp + 1}/ws`,
      `/dns4/localhost/tcp/${tcp + 2}/tls/ws`,
    ]);
    expect(await servedPin(tcp + 2)).toBe(TLS_FIXTURE.spkiBase64);

    // A Node client (the receipt verified; the paid mailbox wants a payment for history).
    const client = nodeClient(alpha.secureAddr!, { NODE_EXTRA_CA_CERTS: TLS_FIXTURE.certPath });
    try {
      expect(await client.probe("from node to the devnet")).toMatchObject({
        ok: true,
        peerId: alpha.peerId,
        remoteAddr: alpha.secureAddr,
        query: "PAYMENT_REQUIRED",
      });
    } finally {
      await client.close();
    }
    if (RUN_BROWSER_TESTS) {
      const harness = await startBrowserHarness({
        entry: PROBE_PAGE,
        args: [chromiumTrustFlag(TLS_FIXTURE)],
      });
      try {
        const r = await probeFrom(harness, alpha.secureAddr!, "from chromium to the devnet");
        expect(r.error).toBeUndefined();
        expect(r).toMatchObject({ ok: true, remoteAddr: alpha.secureAddr, query: "PAYMENT_REQUIRED" });
        expect(harness.problems).toEqual([]);
      } finally {
        await harness.close();
      }
    }
    const listed = spawnSync(
      process.execPath,
      [
        BIN,
        "mailboxes",
        "--rpc-url",
        devnet.rpc,
        "--registry",
        devnet.addresses.registry,
        "--snt",
        devnet.addresses.snt,
        "--channels",
        devnet.addresses.channels,
        "--data-dir",
        join(dir, "client"),
        "--json",
      ],
      { encoding: "utf8" },
    );
    expect(listed.stderr).toBe("");
    expect(JSON.parse(listed.stdout.trim())).toMatchObject({
      peerId: alpha.peerId,
      multiaddrs: entry.multiaddrs,
      reachable: true,
      browserReachable: true, // a /tls/ws address: web pages on https can dial it
    });
  });
});
