// A paid mailbox killed with SIGKILL right after serving, then restarted: every voucher it accepted
// is still redeemable, a replayed voucher is refused (nothing is charged twice), and on shutdown it
// redeems exactly what it served. A mailbox down while its payer asks to close still redeems
// before the close deadline once it is back. Real processes, a real JSON-RPC chain (`hardhat node`).

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { createChannelManager, createClientHost, pushEnvelope, queryStore } from "@postbox/client";
import {
  deployPostbox,
  mailboxRegistryAbi,
  networkParameters,
  paymentChannelsAbi,
  sntAbi,
} from "@postbox/contracts";
import { bytesToBigint, createEnvelope, StatusCode } from "@postbox/protocol";
import { createPublicClient, createWalletClient, encodeFunctionData, type Hex, http, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { freePortBlock } from "../../scripts/lib/ports.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "packages", "cli", "bin", "postbox.js");
const KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
] as const;
const PQ = parseEther("0.01");
const PM = parseEther("0.0001");

describe("paid mailbox crash", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-paid-crash-"));
  const processes: ChildProcess[] = [];
  afterAll(() => {
    for (const p of processes) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  let chain: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => {
    chain = await setUp();
  });

  async function setUp() {
    const rpcPort = 19_545 + Math.floor(Math.random() * 500);
    const rpc = `http://127.0.0.1:${rpcPort}`;
    const chainProcess = spawn(
      join(ROOT, "node_modules", ".bin", "hardhat"),
      ["node", "--hostname", "127.0.0.1", "--port", String(rpcPort)],
      { cwd: ROOT, stdio: "ignore" },
    );
    processes.push(chainProcess);
    const publicClient = createPublicClient({ chain: hardhat, transport: http(rpc), pollingInterval: 100 });
    for (let i = 0; ; i++) {
      try {
        await publicClient.getChainId();
        break;
      } catch (err) {
        if (i > 200) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const wallet = (i: number) =>
      createWalletClient({ chain: hardhat, transport: http(rpc), account: privateKeyToAccount(KEYS[i]!) });
    const a = await deployPostbox({
      publicClient,
      walletClient: wallet(0),
      parameters: networkParameters.local,
      initialSupply: parseEther("100000"),
    });
    const send = async (w: ReturnType<typeof wallet>, to: Hex, data: Hex) => {
      const r = await publicClient.waitForTransactionReceipt({ hash: await w.sendTransaction({ to, data }) });
      expect(r.status).toBe("success");
    };
    for (const i of [1, 2]) {
      await send(
        wallet(0),
        a.snt,
        encodeFunctionData({
          abi: sntAbi,
          functionName: "transfer",
          args: [wallet(i).account.address, parseEther("10000")],
        }),
      );
    }
    await send(
      wallet(1),
      a.snt,
      encodeFunctionData({
        abi: sntAbi,
        functionName: "approveAndCall",
        args: [
          a.registry,
          parseEther("1000"),
          encodeFunctionData({
            abi: mailboxRegistryAbi,
            functionName: "register",
            args: ["p", ["/ip4/127.0.0.1/tcp/1"], "", 0n, PQ, PM, 86_400n],
          }),
        ],
      }),
    );
    const keyFile = join(dir, "operator.key");
    writeFileSync(keyFile, KEYS[1], { mode: 0o600 });
    /** Starts a paid mailbox on `data` and `port` (a real `postbox node start` process). */
    const start = (data: string, port: number) =>
      new Promise<{ child: ChildProcess; peerId: string }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            BIN,
            "node",
            "start",
            "--data-dir",
            data,
            "--listen",
            `/ip4/127.0.0.1/tcp/${port}`,
            "--http-port",
            "0",
            "--rpc-url",
            rpc,
            "--chain-id",
            "31337",
            "--registry",
            a.registry,
            "--channels",
            a.channels,
            "--operator-key-file",
            keyFile,
            "--redeem-min",
            "1000",
          ],
          { stdio: ["ignore", "pipe", "inherit"] },
        );
        processes.push(child);
        let buf = "";
        child.stdout!.on("data", (d: Buffer) => {
          buf += d.toString();
          const line = buf.split("\n").find((l) => l.includes('"mailbox started"'));
          if (line) resolve({ child, peerId: (JSON.parse(line) as { peerId: string }).peerId });
        });
        child.on("exit", (code) => reject(new Error(`node exited ${code}: ${buf}`)));
      });
    return { rpc, publicClient, wallet, a, send, start };
  }

  it("keeps accepted vouchers through SIGKILL and never charges twice", async () => {
    const { publicClient, wallet, a, start } = chain;
    const port = await freePortBlock(14_000, 1);
    const data = join(dir, "mailbox");
    let { child, peerId } = await start(data, port);
    const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`);
    const host = await createClientHost();
    await host.start();
    try {
      for (let i = 0; i < 30; i++) {
        await pushEnvelope(
          host,
          addr,
          createEnvelope({
            contentTopic: "/t/paid",
            timestamp: BigInt(Date.now() + i),
            payload: new Uint8Array([i + 1]),
          }),
        );
      }
      const manager = await createChannelManager({
        location: join(dir, "client"),
        publicClient,
        wallet: wallet(2),
        chainId: 31337,
        snt: a.snt,
        registry: a.registry,
        channels: a.channels,
      });
      const record = await manager.open(wallet(1).account.address, parseEther("1"));
      const operator = wallet(1).account.address;
      let cursor: Uint8Array | undefined;
      let lastQuery: Parameters<typeof queryStore>[2] | undefined;
      for (let page = 0; page < 3; page++) {
        lastQuery = {
          contentTopics: ["/t/paid"],
          pageSize: 10,
          voucher: await manager.voucherFor(operator, 10),
          ...(cursor ? { cursor } : {}),
        };
        const res = await queryStore(host, addr, lastQuery);
        expect(res.status, res.statusDesc).toBe(StatusCode.OK);
        expect(res.envelopes.length).toBe(10);
        manager.record(operator, res);
        cursor = res.nextCursor;
      }
      const spent = BigInt(manager.channelTo(operator)!.spent);
      expect(spent).toBe(3n * (PQ + 10n * PM));
      // Killed without warning right after serving.
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      await host.hangUp(addr).catch(() => undefined);
      ({ child } = await start(data, port));
      // The last voucher again: refused, nothing charged.
      const replay = await queryStore(host, addr, lastQuery!);
      expect(replay.status).toBe(StatusCode.INVALID_VOUCHER);
      expect(replay.envelopes).toEqual([]);
      expect(bytesToBigint(replay.quote!.spent)).toBe(spent);
      // On a clean stop the redeemer claims what the ledger kept through the crash.
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      const c = await publicClient.readContract({
        address: a.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [record.channelId],
      });
      expect(c.paid).toBe(spent);
    } finally {
      await host.stop();
    }
  }, 90_000);

  it("redeems a close requested while it was down before the close deadline", async () => {
    const { publicClient, wallet, a, start } = chain;
    const port = await freePortBlock(14_000, 1);
    const data = join(dir, "mailbox-down");
    let { child, peerId } = await start(data, port);
    const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`);
    const host = await createClientHost();
    await host.start();
    try {
      // A full page, so that its voucher is exactly what was spent (settled, redeemable).
      for (let i = 0; i < 10; i++)
        await pushEnvelope(
          host,
          addr,
          createEnvelope({
            contentTopic: "/t/down",
            timestamp: BigInt(Date.now() + i),
            payload: new Uint8Array([i]),
          }),
        );
      const manager = await createChannelManager({
        location: join(dir, "client-down"),
        publicClient,
        wallet: wallet(2),
        chainId: 31337,
        snt: a.snt,
        registry: a.registry,
        channels: a.channels,
      });
      const operator = wallet(1).account.address;
      const record = await manager.open(operator, parseEther("1"));
      const res = await queryStore(host, addr, {
        contentTopics: ["/t/down"],
        pageSize: 10,
        voucher: await manager.voucherFor(operator, 10),
      });
      expect(res.status, res.statusDesc).toBe(StatusCode.OK);
      manager.record(operator, res);
      const spent = BigInt(manager.channelTo(operator)!.spent);
      expect(spent).toBe(PQ + 10n * PM); // far below --redeem-min: only a close makes it redeem
      // The mailbox crashes; while it is down the payer asks to close and the chain moves on.
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      await host.hangUp(addr).catch(() => undefined);
      await manager.requestClose(operator);
      await publicClient.request({ method: "hardhat_mine" as never, params: ["0x5"] as never });
      const channel = () =>
        publicClient.readContract({
          address: a.channels,
          abi: paymentChannelsAbi,
          functionName: "getChannel",
          args: [record.channelId],
        });
      expect((await channel()).closesAt).toBeGreaterThan(0);
      ({ child } = await start(data, port));
      // Back up: it finds the pending close on-chain and redeems before the deadline.
      await vi.waitFor(async () => expect((await channel()).paid).toBe(spent), {
        timeout: 30_000,
        interval: 200,
      });
      const now = (await publicClient.getBlock()).timestamp;
      expect(BigInt((await channel()).closesAt)).toBeGreaterThan(now);
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    } finally {
      await host.stop();
    }
  }, 90_000);
});
