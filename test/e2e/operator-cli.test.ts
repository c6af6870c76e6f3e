// An operator's life through the CLI against a real chain over JSON-RPC (`hardhat node`): init the
// key, register with one transaction, announce a price increase (delayed), start in paid mode,
// exit, and withdraw only after unbonding; the settings from flags, environment and --config
// combined in every command, and a missing one named in one line.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { networkParameters } from "@postbox/contracts";
import { Agent, fetch } from "undici";
import { parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deployPostboxFixture,
  type HardhatNode,
  hardhatKey,
  startHardhatNode,
} from "../../scripts/lib/chain.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

// The chain on PORT, the mailbox on PORT + 1.
const PORT = await freePortBlock(10_000, 2);

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "packages", "cli", "bin", "postbox.js");
const OPERATOR = hardhatKey(1);
const PAYER = hardhatKey(2);
/** Hardhat's account #3: the operator of the set-endpoint test. */
const SECOND_OPERATOR = hardhatKey(3);

describe("operator CLI against a JSON-RPC chain", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-operator-"));
  const port = PORT;
  const rpc = `http://127.0.0.1:${port}`;
  let chain: HardhatNode | undefined;
  let registry = "";
  let channels = "";
  let snt = "";
  const keyFile = join(dir, "operator.key");

  /** The chain and the contracts, as a client command takes them. */
  const clientChain = () => [
    "--rpc-url",
    rpc,
    "--chain-id",
    "31337",
    "--snt",
    snt,
    "--registry",
    registry,
    "--channels",
    channels,
  ];
  /** The chain as an operator's command takes it, with the operator's key file. */
  const operatorChain = (key: string) => [
    "--rpc-url",
    rpc,
    "--chain-id",
    "31337",
    "--registry",
    registry,
    "--operator-key-file",
    key,
  ];
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  // A fresh connection per call: the chain closes idle keep-alive sockets between tests.
  const rpcCall = async (method: string, params: unknown[]) => {
    const res = await fetch(rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      dispatcher: new Agent({ pipelining: 0 }),
    });
    const body = (await res.json()) as { error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
  };

  beforeAll(async () => {
    chain = await startHardhatNode(port);
    const { addresses: a } = await deployPostboxFixture({
      publicClient: chain.publicClient,
      walletClient: chain.wallet(0),
      initialSupply: parseEther("1000000"),
      fund: [OPERATOR, PAYER, SECOND_OPERATOR].map((key) => privateKeyToAccount(key).address),
      fundEach: parseEther("10000"),
    });
    registry = a.registry;
    channels = a.channels;
    snt = a.snt;
    writeFileSync(keyFile, `${OPERATOR}\n`, { mode: 0o600 });
  }, 60_000);

  afterAll(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Every command takes its settings from flags, the environment and --config at once, with the
  // documented precedence (defaults < file < environment < flags); each step below combines them
  // differently, and each would fail if the wrong layer won.
  it("inits, registers, raises the price with a delay, runs paid, exits and withdraws after its retention and the unbonding period", async () => {
    const dataDir = join(dir, "mailbox");
    const chainEnv = {
      POSTBOX_RPC_URL: rpc,
      POSTBOX_CHAIN_ID: "31337",
      POSTBOX_REGISTRY: registry,
      POSTBOX_CHANNELS: channels,
    };
    const config = (name: string, settings: object) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(settings));
      return file;
    };

    // The peer id to register comes from node init.
    const init = run([
      "node",
      "init",
      "--data-dir",
      dataDir,
      "--listen",
      `/ip4/127.0.0.1/tcp/${port + 1}`,
      "--json",
    ]);
    expect(init.stderr).toBe("");
    const { peerId, register } = JSON.parse(init.stdout) as { peerId: string; register: string[] };
    expect(register).toEqual([`/ip4/127.0.0.1/tcp/${port + 1}`]);

    // Environment + flag: the chain exported as docs/operators.md says, the key as a file.
    const reg = run(
      [
        "node",
        "register",
        "--operator-key-file",
        keyFile,
        "--data-dir",
        dataDir,
        ...register.flatMap((a) => ["--multiaddr", a]),
        "--stake",
        "1500",
        "--price-per-query",
        "0.02",
        "--json",
      ],
      chainEnv,
    );
    expect(reg.stderr).toBe("");
    expect(reg.status).toBe(0);
    const entry = JSON.parse(reg.stdout) as Record<string, string>;
    expect(entry).toMatchObject({
      peerId,
      status: "active",
      stake: "1,500 SNT",
      stakeWei: parseEther("1500").toString(),
      pricePerQuery: "0.02 SNT",
      pricePerMessage: "0.0001 SNT",
    });

    // File + environment: the chain in --config, the key in POSTBOX_OPERATOR_KEY. Text output.
    const chainFile = config("chain.json", { chain: { rpcUrl: rpc, chainId: 31337, registry } });
    const up = run(
      [
        "node",
        "set-price",
        "--config",
        chainFile,
        "--price-per-query",
        "0.05",
        "--price-per-message",
        "0.0001",
      ],
      { POSTBOX_OPERATOR_KEY: OPERATOR },
    );
    expect(up.stderr).toBe("");
    expect(up.stdout).toMatch(/^pricePerQuery +0\.02 SNT \(now\)$/m);
    expect(up.stdout).toMatch(/^pending +0\.05 SNT per query \+ 0\.0001 SNT per message$/m);
    expect(up.stdout).toMatch(/^effective +in \d+ min \d+ s \(at \d{4}-/m);

    // Paid mode from all three layers: rpcUrl and a wrong chainId in the file, the contracts in
    // the environment, the chain id (overriding the file's) and the key as flags.
    const startFile = config("start.json", { chain: { rpcUrl: rpc, chainId: 1 } });
    const node = spawn(
      process.execPath,
      [
        BIN,
        "node",
        "start",
        "--config",
        startFile,
        "--data-dir",
        dataDir,
        "--listen",
        `/ip4/127.0.0.1/tcp/${port + 1}`,
        "--http-port",
        "0",
        "--chain-id",
        "31337",
        "--operator-key-file",
        keyFile,
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, POSTBOX_REGISTRY: registry, POSTBOX_CHANNELS: channels },
      },
    );
    try {
      const started = await new Promise<{ peerId: string; mode: string }>((resolve, reject) => {
        let buf = "";
        node.stdout!.on("data", (d: Buffer) => {
          buf += d.toString();
          const line = buf.split("\n").find((l) => l.includes('"mailbox started"'));
          if (line) resolve(JSON.parse(line) as { peerId: string; mode: string });
        });
        node.stderr!.on("data", (d: Buffer) => {
          buf += d.toString();
        });
        node.on("exit", (code) => reject(new Error(`node exited ${code}: ${buf}`)));
      });
      expect(started).toMatchObject({ peerId, mode: "paid" });
      const remote = `/ip4/127.0.0.1/tcp/${port + 1}/p2p/${peerId}`;
      // Prices in SNT, like every other command; exact base units only in JSON, named so.
      const text = run(["node", "info", remote]);
      expect(text.stderr).toBe("");
      expect(text.stdout).toMatch(/^mode +paid$/m);
      expect(text.stdout).toMatch(/^pricePerQuery +0\.02 SNT$/m);
      expect(text.stdout).toMatch(/^pricePerMessage +0\.0001 SNT$/m);
      expect(text.stdout).toMatch(/^pagePrice +0\.03 SNT per 100-message page$/m);
      expect(text.stdout).toMatch(/^pendingPrice +0\.05 SNT per query \+ 0\.0001 SNT per message from /m);
      expect(text.stdout).not.toMatch(/\d{12,}/);
      const info = JSON.parse(run(["node", "info", remote, "--json"]).stdout) as Record<string, unknown>;
      expect(info).toMatchObject({
        mode: "paid",
        pricePerQuery: "0.02 SNT",
        pricePerQueryWei: parseEther("0.02").toString(),
        pricePerMessageWei: parseEther("0.0001").toString(),
        retentionSeconds: 30 * 86_400,
      });
      expect(String(info.operator).toLowerCase()).toBe(privateKeyToAccount(OPERATOR).address.toLowerCase());
    } finally {
      node.kill("SIGTERM");
      await new Promise((r) => node.once("exit", r));
    }

    // The local folder needs no chain settings and no key, whatever the environment holds: the
    // export line npm start prints (only the RPC URL), or all four chain settings.
    for (const env of [{ POSTBOX_RPC_URL: rpc, POSTBOX_CLIENT_DIR: join(dir, "client") }, chainEnv]) {
      const local = run(["node", "info", "--data-dir", dataDir, "--json"], env);
      expect(local.stderr).toBe("");
      expect(JSON.parse(local.stdout)).toMatchObject({ dataDir, peerId, db: "sqlite" });
    }

    // File + flag: the chain in the file, the key as a flag.
    const exited = run(["node", "exit", "--config", chainFile, "--operator-key-file", keyFile, "--json"]);
    expect(exited.stderr).toBe("");
    const exit = JSON.parse(exited.stdout) as Record<string, string | number>;
    expect(exit).toMatchObject({ status: "exiting", stake: "1,500 SNT" });
    // The stake stays for the promises made until the exit: its 30 days' retention, then the
    // devnet's unbonding period of 2 min.
    expect(exit.withdrawable).toMatch(/^in 30 d 0 h \(at /);
    const unbonding = Number(networkParameters.local.unbondingPeriod);
    expect(exit.withdrawableInSeconds).toBeGreaterThan(30 * 86_400 + unbonding - 60);
    expect(exit.withdrawableInSeconds).toBeLessThanOrEqual(30 * 86_400 + unbonding);

    // A flag overrides the environment: POSTBOX_REGISTRY names no registry, --registry does.
    const early = run(["node", "withdraw", "--registry", registry, "--operator-key-file", keyFile], {
      ...chainEnv,
      POSTBOX_REGISTRY: "0x000000000000000000000000000000000000dEaD",
    });
    expect(early.stderr).toMatch(/^postbox: the stake unbonds: it can be withdrawn in 30 d 0 h \(at .+\)\n$/);
    expect(early.status).toBe(2);
    await rpcCall("evm_increaseTime", [Number(exit.withdrawableInSeconds) + 1]);
    await rpcCall("evm_mine", []);
    // The environment overrides the file: the file's RPC URL is dead, POSTBOX_RPC_URL is not.
    const deadFile = config("dead.json", {
      chain: { rpcUrl: "http://127.0.0.1:1", chainId: 31337, registry },
    });
    const done = run(["node", "withdraw", "--config", deadFile, "--json"], {
      POSTBOX_RPC_URL: rpc,
      POSTBOX_OPERATOR_KEY: OPERATOR,
    });
    expect(done.stderr).toBe("");
    expect(JSON.parse(done.stdout)).toMatchObject({
      withdrawn: "1,500 SNT",
      withdrawnWei: parseEther("1500").toString(),
    });
  });

  it("a payer opens, inspects, closes and withdraws a channel from the command line", async () => {
    const walletKey = join(dir, "wallet.key");
    writeFileSync(walletKey, PAYER, { mode: 0o600 });
    const mailbox = privateKeyToAccount(OPERATOR).address;
    const flags = [
      "--mailbox",
      mailbox,
      ...clientChain(),
      "--wallet-key-file",
      walletKey,
      "--data-dir",
      join(dir, "client"),
      "--json",
    ];
    const openRun = run(["channel", "open", ...flags, "--deposit", "25"]);
    expect(openRun.status, openRun.stderr).toBe(0); // (stderr may say what is being paid)
    const opened = JSON.parse(openRun.stdout) as Record<string, string>;
    expect(opened.deposit).toBe("25 SNT");
    const topped = JSON.parse(run(["channel", "topup", ...flags, "--amount", "5"]).stdout) as Record<
      string,
      string
    >;
    expect(topped.deposit).toBe("30 SNT");
    const status = JSON.parse(run(["channel", "status", ...flags]).stdout) as Record<string, string>;
    expect(status).toMatchObject({ deposit: "30 SNT", spent: "0 SNT", redeemed: "0 SNT", close: "open" });
    expect(status.signer).toBe(opened.signer); // the session key, for opening channels elsewhere
    const closing = JSON.parse(run(["channel", "close", ...flags]).stdout) as Record<string, string>;
    expect(closing.close).toMatch(/^requested: .* withdraw in \d+ min \d+ s of chain time/);
    const early = run(["channel", "withdraw", ...flags]);
    expect(early.status).toBe(2);
    expect(early.stderr).toMatch(/close grace ends in \d+ min \d+ s of chain time/);
    await rpcCall("evm_increaseTime", [Number(networkParameters.local.closeGrace) + 1]);
    await rpcCall("evm_mine", []);
    const done = JSON.parse(run(["channel", "withdraw", ...flags]).stdout) as Record<string, string>;
    expect(done.refunded).toBe("30 SNT");
  });

  it("names a missing chain setting in one line", () => {
    const r = run(["node", "exit", "--chain-id", "31337"], { POSTBOX_RPC_URL: "" });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "postbox: invalid setting chain.rpcUrl: required (--rpc-url or POSTBOX_RPC_URL, or chain.rpcUrl in --config FILE)\n",
    );
    const keyless = run(["node", "set-price", "--price-per-query", "1", "--price-per-message", "0"], {
      POSTBOX_RPC_URL: rpc,
      POSTBOX_CHAIN_ID: "31337",
      POSTBOX_REGISTRY: registry,
    });
    expect(keyless.status).toBe(2);
    expect(keyless.stderr).toBe(
      "postbox: invalid setting chain.operatorKey: required (--operator-key-file or POSTBOX_OPERATOR_KEY, or chain.operatorKey in --config FILE)\n",
    );
  });

  it("node start with part of the chain says which settings paid mode misses, and does not start", () => {
    const r = run(
      [
        "node",
        "start",
        "--data-dir",
        join(dir, "partial"),
        "--http-port",
        "0",
        "--listen",
        `/ip4/127.0.0.1/tcp/${port + 1}`,
      ],
      { POSTBOX_RPC_URL: rpc, POSTBOX_REGISTRY: registry },
    );
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")).toHaveLength(2); // one line
    expect(r.stderr).toMatch(
      /^postbox: invalid setting chain\.chainId: paid mode needs all five chain settings; missing chain\.chainId \(--chain-id or POSTBOX_CHAIN_ID\), chain\.channels \(--channels or POSTBOX_CHANNELS\), chain\.operatorKey \(--operator-key-file or POSTBOX_OPERATOR_KEY\); given chain\.rpcUrl \(POSTBOX_RPC_URL\), chain\.registry \(POSTBOX_REGISTRY\)\. Without any of them the mailbox runs free\n$/,
    );
  });

  it("register refuses a folder without a peer key and an address nobody can dial", () => {
    const flags = operatorChain(keyFile);
    const empty = join(dir, "empty");
    const register = (address: string) =>
      run(["node", "register", ...flags, "--data-dir", empty, "--multiaddr", address]);
    const none = register("/ip4/127.0.0.1/tcp/1");
    expect(none.status).toBe(2);
    expect(none.stderr).toBe(
      `postbox: no mailbox key in ${empty} (no peer.key): create it first with postbox node init --data-dir ${empty}\n`,
    );
    const any = register("/ip4/0.0.0.0/tcp/60001");
    expect(any.status).toBe(2);
    expect(any.stderr).toMatch(
      /^postbox: invalid setting multiaddr: \/ip4\/0\.0\.0\.0\/tcp\/60001 means "every interface"/,
    );
  });

  it("set-endpoint lists a browser-reachable address in the registry, which postbox mailboxes shows", () => {
    const dataDir = join(dir, "endpoint-mailbox");
    const key = join(dir, "second-operator.key");
    writeFileSync(key, SECOND_OPERATOR, { mode: 0o600 });
    const chainFlags = operatorChain(key);
    const setEndpoint = (...args: string[]) => run(["node", "set-endpoint", ...chainFlags, ...args]);
    const mailboxes = () =>
      run(["mailboxes", ...clientChain(), "--data-dir", join(dir, "endpoint-client"), "--json"]);
    const listed = () => {
      const r = mailboxes();
      expect(r.stderr).toBe("");
      const operator = privateKeyToAccount(SECOND_OPERATOR).address.toLowerCase();
      return r.stdout
        .trim()
        .split("\n")
        .map(
          (l) =>
            JSON.parse(l) as {
              id: string;
              peerId: string;
              multiaddrs: string[];
              metadataURI: string;
              browserReachable: boolean;
            },
        )
        .find((m) => m.id.toLowerCase() === operator);
    };

    // Not registered yet: nothing to update.
    const unregistered = setEndpoint("--multiaddr", "/dns4/localhost/tcp/443/tls/ws");
    expect(unregistered.status).toBe(2);
    expect(unregistered.stderr).toBe(
      `postbox: ${privateKeyToAccount(SECOND_OPERATOR).address} has no registry entry: list the mailbox first with postbox node register\n`,
    );

    const { peerId } = JSON.parse(run(["node", "init", "--data-dir", dataDir, "--json"]).stdout) as {
      peerId: string;
    };
    const reg = run([
      "node",
      "register",
      ...chainFlags,
      "--data-dir",
      dataDir,
      "--multiaddr",
      "/dns4/localhost/tcp/60001",
      "--metadata-uri",
      "https://mbx.example.org/card.json",
      "--json",
    ]);
    expect(reg.stderr).toBe("");
    expect(JSON.parse(reg.stdout).browsers).toMatch(/^not reachable: no address is WebSockets over TLS/);
    expect(listed()).toMatchObject({ peerId, multiaddrs: ["/dns4/localhost/tcp/60001"] });

    // Bad input: one line each, nothing sent.
    const refusals: [string[], string][] = [
      [
        ["--multiaddr", `/dns4/localhost/tcp/443/tls/ws/p2p/${peerId}/p2p/${peerId}`],
        `postbox: invalid setting multiaddr: /dns4/localhost/tcp/443/tls/ws/p2p/${peerId}/p2p/${peerId}: /p2p/<peer id> may only end an address (the node it reaches, when several nodes serve the mailbox)\n`,
      ],
      [
        Array.from({ length: 9 }, (_, i) => ["--multiaddr", `/dns4/localhost/tcp/${443 + i}/tls/ws`]).flat(),
        "postbox: invalid setting multiaddr: 9 addresses given; the registry lists at most 8\n",
      ],
      [
        ["--multiaddr", "/dns4/localhost/tcp/443/tls/ws", "--metadata-uri", `data:,${"x".repeat(2_100)}`],
        "postbox: invalid setting metadata-uri: 2106 bytes; the registry takes at most 2048\n",
      ],
      [
        ["--multiaddr", "/ip4/0.0.0.0/tcp/4443/tls/ws"],
        'postbox: invalid setting multiaddr: /ip4/0.0.0.0/tcp/4443/tls/ws means "every interface"',
      ],
    ];
    for (const [args, stderr] of refusals) {
      const r = setEndpoint("--data-dir", dataDir, ...args);
      expect(r.status).toBe(2);
      expect(r.stderr.startsWith(stderr.replace(/\n$/, ""))).toBe(true);
      expect(r.stderr.split("\n")).toHaveLength(2);
    }
    expect(listed()).toMatchObject({ multiaddrs: ["/dns4/localhost/tcp/60001"], browserReachable: false });
    const table = run(["mailboxes", ...clientChain(), "--data-dir", join(dir, "endpoint-client")]);
    expect(table.stdout).toMatch(/no browser: no \/tls\/ws address/);

    // The browser-reachable address beside the TCP one; the metadata URI kept.
    const added = setEndpoint(
      "--data-dir",
      dataDir,
      "--multiaddr",
      "/dns4/localhost/tcp/60001",
      "--multiaddr",
      "/dns4/localhost/tcp/443/tls/ws",
      "--json",
    );
    expect(added.stderr).toBe("");
    expect(JSON.parse(added.stdout)).toMatchObject({
      peerId,
      multiaddrs: ["/dns4/localhost/tcp/60001", "/dns4/localhost/tcp/443/tls/ws"],
      metadataURI: "unchanged",
      browsers: "reachable over /dns4/localhost/tcp/443/tls/ws",
    });
    expect(listed()).toMatchObject({
      peerId,
      multiaddrs: ["/dns4/localhost/tcp/60001", "/dns4/localhost/tcp/443/tls/ws"],
      metadataURI: "https://mbx.example.org/card.json",
      browserReachable: true,
    });

    // Away from the mailbox (no data folder): the registered peer id is kept; a new metadata URI.
    const away = setEndpoint(
      "--data-dir",
      join(dir, "no-such-folder"),
      "--multiaddr",
      "/dns4/localhost/tcp/443/tls/ws",
      "--metadata-uri",
      "https://mbx.example.org/v2.json",
    );
    expect(away.stderr).toBe("");
    expect(away.stdout).toMatch(new RegExp(`^peerId +${peerId}$`, "m"));
    expect(away.stdout).toMatch(/^metadataURI +https:\/\/mbx\.example\.org\/v2\.json$/m);
    expect(listed()).toMatchObject({
      peerId,
      multiaddrs: ["/dns4/localhost/tcp/443/tls/ws"],
      metadataURI: "https://mbx.example.org/v2.json",
    });
  });
});
