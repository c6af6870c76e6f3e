// An operator's life through the CLI against a real chain over JSON-RPC (`hardhat node`):
// register with one transaction, announce a price increase (delayed), start in paid mode, exit,
// and withdraw only after unbonding.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deployPostbox, networkParameters, sntAbi } from "@postbox/contracts";
import { Agent, fetch } from "undici";
import { createPublicClient, createWalletClient, encodeFunctionData, http, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePortBlock } from "../../scripts/lib/ports.ts";

// The chain on PORT, the mailbox on PORT + 1.
const PORT = await freePortBlock(10_000, 2);

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "packages", "cli", "bin", "postbox.js");
const DEPLOYER = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const OPERATOR = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const PAYER = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

describe("operator CLI against a JSON-RPC chain", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-operator-"));
  const port = PORT;
  const rpc = `http://127.0.0.1:${port}`;
  let chain: ChildProcess;
  let registry = "";
  let channels = "";
  let snt = "";
  const keyFile = join(dir, "operator.key");

  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  const chainFlags = () => [
    "--rpc-url",
    rpc,
    "--chain-id",
    "31337",
    "--registry",
    registry,
    "--operator-key-file",
    keyFile,
  ];
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
    chain = spawn(
      join(ROOT, "node_modules", ".bin", "hardhat"),
      ["node", "--hostname", "127.0.0.1", "--port", String(port)],
      {
        cwd: ROOT,
        stdio: "ignore",
      },
    );
    const publicClient = createPublicClient({ chain: hardhat, transport: http(rpc) });
    for (let i = 0; ; i++) {
      try {
        await publicClient.getChainId();
        break;
      } catch (err) {
        if (i > 200) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const deployer = createWalletClient({
      chain: hardhat,
      transport: http(rpc),
      account: privateKeyToAccount(DEPLOYER),
    });
    const a = await deployPostbox({
      publicClient,
      walletClient: deployer,
      parameters: networkParameters.local,
      initialSupply: parseEther("1000000"),
    });
    registry = a.registry;
    channels = a.channels;
    snt = a.snt;
    for (const key of [OPERATOR, PAYER]) {
      const hash = await deployer.sendTransaction({
        to: a.snt,
        data: encodeFunctionData({
          abi: sntAbi,
          functionName: "transfer",
          args: [privateKeyToAccount(key as `0x${string}`).address, parseEther("10000")],
        }),
      });
      await publicClient.waitForTransactionReceipt({ hash });
    }
    writeFileSync(keyFile, `${OPERATOR}\n`, { mode: 0o600 });
  }, 60_000);

  afterAll(() => {
    chain?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers, raises the price with a delay, runs paid, exits and withdraws after unbonding", async () => {
    const dataDir = join(dir, "mailbox");
    const reg = run([
      "node",
      "register",
      ...chainFlags(),
      "--data-dir",
      dataDir,
      "--multiaddr",
      `/ip4/127.0.0.1/tcp/${port + 1}`,
      "--stake",
      "1500",
      "--price-per-query",
      "0.02",
      "--json",
    ]);
    expect(reg.stderr).toBe("");
    const entry = JSON.parse(reg.stdout) as Record<string, string>;
    expect(entry.status).toBe("active");
    expect(entry.stake).toBe("1500 SNT");
    expect(entry.pricePerQuery).toBe("0.02 SNT");

    const up = JSON.parse(
      run([
        "node",
        "set-price",
        ...chainFlags(),
        "--price-per-query",
        "0.05",
        "--price-per-message",
        "0.0001",
        "--json",
      ]).stdout,
    ) as Record<string, string>;
    expect(up.pricePerQuery).toBe("0.02 SNT (now)");
    expect(up.pending).toBe("0.05 / 0.0001 SNT");
    expect(Number.parseInt(up.effectiveIn!, 10)).toBeGreaterThan(50);

    // Paid mode from the command line: info shows the on-chain price.
    const node = spawn(
      process.execPath,
      [
        BIN,
        "node",
        "start",
        "--data-dir",
        dataDir,
        "--listen",
        `/ip4/127.0.0.1/tcp/${port + 1}`,
        "--http-port",
        "0",
        "--rpc-url",
        rpc,
        "--chain-id",
        "31337",
        "--registry",
        registry,
        "--channels",
        channels,
        "--operator-key-file",
        keyFile,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const peerId = await new Promise<string>((resolve, reject) => {
        let buf = "";
        node.stdout!.on("data", (d: Buffer) => {
          buf += d.toString();
          const line = buf.split("\n").find((l) => l.includes('"mailbox started"'));
          if (line) resolve((JSON.parse(line) as { peerId: string; mode: string }).peerId);
        });
        node.on("exit", (code) => reject(new Error(`node exited ${code}: ${buf}`)));
      });
      const info = JSON.parse(
        run(["node", "info", `/ip4/127.0.0.1/tcp/${port + 1}/p2p/${peerId}`, "--json"]).stdout,
      ) as Record<string, unknown>;
      expect(info.mode).toBe("paid");
      expect(info.pricePerQuery).toBe(parseEther("0.02").toString());
      expect(String(info.operator).toLowerCase()).toBe(privateKeyToAccount(OPERATOR).address.toLowerCase());
    } finally {
      node.kill("SIGTERM");
      await new Promise((r) => node.once("exit", r));
    }

    const exit = JSON.parse(run(["node", "exit", ...chainFlags(), "--json"]).stdout) as Record<
      string,
      string
    >;
    expect(exit.status).toBe("exiting");
    const early = run(["node", "withdraw", ...chainFlags()]);
    expect(early.status).toBe(2);
    expect(early.stderr).toMatch(/^postbox: the stake unbonds in \d+ s\n$/);
    await rpcCall("evm_increaseTime", [Number(networkParameters.local.unbondingPeriod) + 1]);
    await rpcCall("evm_mine", []);
    const done = JSON.parse(run(["node", "withdraw", ...chainFlags(), "--json"]).stdout) as Record<
      string,
      string
    >;
    expect(done.withdrawn).toBe("1500 SNT");
  });

  it("a payer opens, inspects, closes and withdraws a channel from the command line", async () => {
    const walletKey = join(dir, "wallet.key");
    writeFileSync(walletKey, PAYER, { mode: 0o600 });
    const mailbox = privateKeyToAccount(OPERATOR).address;
    const flags = [
      "--mailbox",
      mailbox,
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
      "--wallet-key-file",
      walletKey,
      "--data-dir",
      join(dir, "client"),
      "--json",
    ];
    const openRun = run(["channel", "open", ...flags, "--deposit", "25"]);
    expect(openRun.stderr).toBe("");
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
    expect(Number.parseInt(closing.withdrawableIn!, 10)).toBeGreaterThan(100);
    const early = run(["channel", "withdraw", ...flags]);
    expect(early.status).toBe(2);
    expect(early.stderr).toMatch(/close grace ends in \d+ s/);
    await rpcCall("evm_increaseTime", [Number(networkParameters.local.closeGrace) + 1]);
    await rpcCall("evm_mine", []);
    const done = JSON.parse(run(["channel", "withdraw", ...flags]).stdout) as Record<string, string>;
    expect(done.refunded).toBe("30 SNT");
  });

  it("names a missing chain setting in one line", () => {
    const r = run(["node", "exit", "--chain-id", "31337"], { POSTBOX_RPC_URL: "" });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("postbox: invalid setting rpc-url: required (--rpc-url or POSTBOX_RPC_URL)\n");
  });
});
