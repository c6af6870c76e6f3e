// A local Postbox network as a library: a Hardhat chain (`hardhat node`, a fresh one every time,
// mining a block on every transaction and at least every 5 s: see hardhat.config.ts), the
// contracts, funded accounts and registered mailboxes (the chain fixture of scripts/lib/chain.ts),
// each its own process (`postbox node start`). `npm start`, `npm run demo`, the benchmarks and the
// end-to-end tests all build on it, with their own ports.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { join, resolve } from "node:path";
import { privateKeyFromProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import {
  DEVNET_KEYS,
  mailboxRegistryAbi,
  networkParameters,
  type PostboxAddresses,
  paymentChannelsAbi,
} from "@postbox/contracts";
import { formatSnt } from "@postbox/protocol";
import { Agent, fetch } from "undici";
import { type Address, type PublicClient, parseEther } from "viem";
import { TLS_FIXTURE } from "../../test/fixtures/tls/index.ts";
import {
  deployPostboxFixture,
  hardhatPublicClient,
  hardhatWallet,
  spawnHardhatNode,
  waitForChain,
} from "./chain.ts";

export { TLS_FIXTURE, type TlsFixture } from "../../test/fixtures/tls/index.ts";

/** `POSTBOX_PROFILE_DIR=DIR`: the mailboxes (and benchmarks' mailboxes) write V8 CPU profiles there. */
export function profileArgs(): string[] {
  const dir = process.env.POSTBOX_PROFILE_DIR;
  return dir ? ["--cpu-prof", "--cpu-prof-dir", dir] : [];
}

export const ROOT = resolve(import.meta.dirname, "..", "..");
export const POSTBOX_BIN = join(ROOT, "packages", "cli", "bin", "postbox.js");

/**
 * Hardhat's well-known development accounts (public test keys; never use them on a real network):
 * #0 deploys, #1–#3 operate the default mailboxes, #4 is `npm start`'s CLI user, #6 its prober
 * (`DEVNET_ACCOUNTS` in @postbox/contracts names each one's role).
 */
export const DEV_KEYS = DEVNET_KEYS;

export interface MailboxSpec {
  name: string;
  /** Index into {@link DEV_KEYS} of the operator. */
  operator: number;
  pricePerQuery: string;
  pricePerMessage: string;
  /** Extra `postbox node start` flags. */
  flags?: string[];
}

export const DEFAULT_MAILBOXES: MailboxSpec[] = [
  { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
  { name: "beta", operator: 2, pricePerQuery: "0.02", pricePerMessage: "0.00005" },
  { name: "gamma", operator: 3, pricePerQuery: "0.005", pricePerMessage: "0.0002" },
];

/**
 * The metadata URI a devnet mailbox registers: a `data:application/json` URI holding its card, a
 * small NIP-11-like document (name, description, contact, terms; docs/methodology.md).
 */
export function devnetMetadataURI(name: string): string {
  const card = {
    name,
    description: `Devnet mailbox ${name}: a local test mailbox started by npm start; its archive lives in the devnet's data folder.`,
    contact: `mailto:ops@${name}.devnet.invalid`,
    terms:
      "A local test network: no guarantees, test SNT only; what it stores is deleted with npm start -- --reset.",
  };
  return `data:application/json,${encodeURIComponent(JSON.stringify(card))}`;
}

export interface RunningMailbox {
  spec: MailboxSpec;
  dir: string;
  peerId: string;
  /** The TCP multiaddr with /p2p/. */
  addr: string;
  /**
   * With `tls`: the registered WebSockets-over-TLS multiaddr with /p2p/
   * (`/dns4/localhost/tcp/{p+2}/tls/ws/p2p/…`), what a browser dials.
   */
  secureAddr: string | undefined;
  listen: string[];
  http: string;
  operator: Address;
  process: ChildProcess;
  /** Stops it (SIGTERM, or SIGKILL) and waits. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same data folder and ports; resolves once it is back in the gossip mesh. */
  restart(): Promise<void>;
}

export interface DevnetOptions {
  dataDir: string;
  /** One port to lay the others out from: RPC on it, libp2p from +10, HTTP from +100. */
  basePort?: number;
  rpcPort?: number;
  /** First libp2p TCP port: mailbox i listens on base + 10·i (TCP), +1 (WebSockets), +2 (`tls`). */
  p2pBase?: number;
  /**
   * Mailboxes also listen on `/ip4/127.0.0.1/tcp/{p+2}/tls/ws` with the test certificate
   * ({@link TLS_FIXTURE}: localhost and 127.0.0.1) and register `/dns4/localhost/tcp/{p+2}/tls/ws`
   * beside their TCP and `/ws` addresses, so that a page served over https can reach them; every
   * process the devnet starts trusts that certificate (NODE_EXTRA_CA_CERTS). Chromium trusts it
   * with `--ignore-certificate-errors-spki-list=${TLS_FIXTURE.spkiBase64}`.
   */
  tls?: boolean;
  /** First HTTP port (metrics, health): mailbox i on base + i. */
  httpBase?: number;
  mailboxes?: MailboxSpec[];
  /** SNT sent to each funded account (accounts 1…). */
  fundEach?: bigint;
  /**
   * The registry's only slasher and jailer. Default: the Disputes contract `deployPostbox` deploys.
   * A test that slashes and jails by hand names an account it controls (then no Disputes exists).
   */
  disputes?: Address;
  /** Also start a prober (`postbox prober start`). */
  prober?: ProberSpec;
  /** Mailbox log level (default warn). */
  logLevel?: string;
  /** Where children's output goes (default: inherited). */
  stdio?: "inherit" | "ignore";
  log?: (line: string) => void;
  /** Called when a child exits without being asked to (the network is broken). */
  onUnexpectedExit?: (what: string, code: number | null) => void;
  /**
   * Aborting it while the network starts stops what has started (in order, cleanly) and makes
   * {@link startDevnet} reject with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface StopOptions {
  /**
   * SIGKILL a process that has not exited this long after its SIGTERM (default 15 s; `Infinity`:
   * wait, for a caller that offers its own way to force, as `npm start`'s third Ctrl-C).
   */
  killAfterMs?: number;
}

export interface ProberSpec {
  /** Index into {@link DEV_KEYS} of the prober's key (pays canaries, signs reports). */
  key: number;
  port: number;
  /** Extra `postbox prober start` flags. */
  flags?: string[];
}

export interface Devnet {
  rpc: string;
  /** The prober's HTTP base URL, when one was started. */
  proberUrl: string | undefined;
  addresses: PostboxAddresses;
  publicClient: PublicClient;
  mailboxes: RunningMailbox[];
  /** Starts a child (`node ARGS`) that stops with the network; `stdout: "ignore"` drops its output. */
  spawnChild(
    name: string,
    args: string[],
    options?: { env?: Record<string, string>; stdout?: "ignore" },
  ): ChildProcess;
  wallet(i: number): ReturnType<typeof devWallet>;
  /**
   * Stops every process it started, in order, and says so through `log`: the mailboxes first (each
   * redeems what it earned while the chain still runs, closes its databases and exits), then the
   * other children (prober, dashboard), then the chain. Resolves with whether every process exited
   * cleanly (exit code 0, or the SIGTERM it was sent). Idempotent.
   */
  stop(options?: StopOptions): Promise<boolean>;
  /** While stopping: the processes not yet stopped ("mailbox alpha", "prober", "chain"). */
  pending(): string[];
}

const devWallet = hardhatWallet;

/** No kept-alive sockets: a child that restarts on the same port is asked afresh. */
const noKeepAlive = new Agent({ pipelining: 0 });

/** GET `base`/health. */
function health(base: string): ReturnType<typeof fetch> {
  return fetch(`${base}/health`, { dispatcher: noKeepAlive });
}

/** Resolves once a mailbox's /health reports a peer in its gossipsub mesh. */
function inMesh(m: RunningMailbox): Promise<void> {
  return waitFor(`mailbox ${m.spec.name} in the gossip mesh`, async () => {
    const res = await health(m.http);
    return res.ok && (((await res.json()) as { meshPeers?: number }).meshPeers ?? 0) > 0;
  });
}

/** A failure that waiting longer cannot mend (a child exited): {@link waitFor} rethrows it at once. */
class Fatal extends Error {}

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
  signal?: AbortSignal,
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      // not yet (a connection refused, a half-started server)
    }
    if (Date.now() > until) throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a whole local network; {@link Devnet.stop} stops every process it started. */
export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const rpcPort = options.rpcPort ?? options.basePort ?? 8545;
  const rpc = `http://127.0.0.1:${rpcPort}`;
  const log = options.log ?? (() => undefined);
  const stdio = options.stdio ?? "inherit";
  /** The running children: name, and the operator of a mailbox. */
  const children = new Map<ChildProcess, { name: string; operator?: Address }>();
  let stopping = false;
  mkdirSync(options.dataDir, { recursive: true });
  forgetPreviousChain(options.dataDir, log);
  const aborted = () => options.signal?.throwIfAborted();
  /** With `tls`, every child trusts the test certificate (mailboxes dial each other's addresses). */
  const tlsEnv: Record<string, string> = options.tls ? { NODE_EXTRA_CA_CERTS: TLS_FIXTURE.certPath } : {};

  const watch = (name: string, child: ChildProcess, operator?: Address) => {
    children.set(child, operator ? { name, operator } : { name });
    child.once("exit", (code) => {
      children.delete(child);
      if (!stopping && !(child as { expectedExit?: boolean }).expectedExit)
        options.onUnexpectedExit?.(name, code);
    });
    return child;
  };
  /**
   * Sends `signal` and waits for the exit; resolves with whether it exited 0 or of that signal
   * (killed by it, or exiting with 128 + its number, as `next start` does).
   */
  const stopChild = async (
    child: ChildProcess,
    signal: NodeJS.Signals = "SIGTERM",
    killAfterMs = 15_000,
  ): Promise<boolean> => {
    (child as { expectedExit?: boolean }).expectedExit = true;
    const clean = () =>
      child.exitCode === 0 ||
      child.signalCode === signal ||
      child.exitCode === 128 + constants.signals[signal];
    if (child.exitCode !== null || child.signalCode !== null) return clean();
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    const timer = Number.isFinite(killAfterMs)
      ? setTimeout(() => {
          log(
            `${children.get(child)?.name ?? "a process"} did not stop within ${killAfterMs / 1000} s: killing it`,
          );
          child.kill("SIGKILL");
        }, killAfterMs)
      : undefined;
    await exited;
    clearTimeout(timer);
    return clean();
  };
  const exitText = (c: ChildProcess) =>
    c.exitCode !== null ? `exit code ${c.exitCode}` : `signal ${c.signalCode}`;
  let chainProcess: ChildProcess | undefined;
  let chainClient: PublicClient | undefined;
  let channelsAddress: Address | undefined;
  /** "redeemed 2 channels, 0.0302 SNT": what `payee` redeemed on-chain after block `from`. */
  const redeemedSince = async (payee: Address, from: bigint | undefined): Promise<string> => {
    if (!chainClient || !channelsAddress || from === undefined) return "its redemptions are unknown";
    try {
      const events = await chainClient.getContractEvents({
        address: channelsAddress,
        abi: paymentChannelsAbi,
        eventName: "Redeemed",
        args: { payee },
        fromBlock: from + 1n,
      });
      if (events.length === 0) return "nothing to redeem";
      const total = events.reduce((sum, e) => sum + (e.args.amount ?? 0n), 0n);
      return `redeemed ${events.length} channel${events.length === 1 ? "" : "s"}, ${formatSnt(total)}`;
    } catch {
      return "its redemptions could not be read from the chain";
    }
  };
  // The mailboxes first (they redeem on shutdown and need the chain), then the other children,
  // then the chain.
  let stopped: Promise<boolean> | undefined;
  const stop = (o: StopOptions = {}) => {
    stopped ??= (async () => {
      stopping = true;
      let clean = true;
      const from = await chainClient?.getBlockNumber().catch(() => undefined);
      const group = (mailboxes: boolean) =>
        [...children].filter(
          ([c, info]) => c !== chainProcess && (info.operator !== undefined) === mailboxes,
        );
      const mailboxes = group(true);
      if (mailboxes.length > 0)
        log(
          `stopping ${mailboxes.map(([, i]) => i.name).join(", ")}: each redeems what it earned and closes its databases…`,
        );
      await Promise.all(
        mailboxes.map(async ([child, info]) => {
          if (!(await stopChild(child, "SIGTERM", o.killAfterMs))) {
            clean = false;
            log(`${info.name} did not stop cleanly (${exitText(child)})`);
          } else log(`${info.name} stopped: ${await redeemedSince(info.operator!, from)}`);
        }),
      );
      const others = group(false);
      if (others.length > 0) log(`stopping ${others.map(([, i]) => i.name).join(", ")}…`);
      await Promise.all(
        others.map(async ([child, info]) => {
          const ok = await stopChild(child, "SIGTERM", o.killAfterMs);
          if (!ok) clean = false;
          log(ok ? `${info.name} stopped` : `${info.name} did not stop cleanly (${exitText(child)})`);
        }),
      );
      if (chainProcess && children.has(chainProcess)) {
        log("stopping the chain…");
        const ok = await stopChild(chainProcess, "SIGTERM", o.killAfterMs);
        if (!ok) clean = false;
        log(ok ? "chain stopped" : `the chain did not stop cleanly (${exitText(chainProcess)})`);
      }
      return clean;
    })();
    return stopped;
  };
  // A last resort for a parent that exits without stopping the network: its children run in their
  // own process groups and would outlive it.
  process.once("exit", () => {
    for (const c of children.keys()) c.kill("SIGKILL");
  });

  try {
    // Children run in their own process groups: Ctrl-C reaches only the parent, which stops them
    // in order (each gets exactly one SIGTERM and stops cleanly).
    aborted();
    const chain = watch("chain", spawnHardhatNode(rpcPort, { stderr: stdio, detached: true }));
    chainProcess = chain;
    const publicClient = hardhatPublicClient(rpc);
    chainClient = publicClient;
    await waitForChain(publicClient, chain, {
      port: rpcPort,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const fixture = await deployPostboxFixture({
      publicClient,
      walletClient: devWallet(rpc, 0),
      initialSupply: parseEther("100000000"),
      fund: DEV_KEYS.slice(1).map((_, i) => devWallet(rpc, i + 1).account.address),
      fundEach: options.fundEach ?? parseEther("1000000"),
      ...(options.disputes ? { disputes: options.disputes } : {}),
    });
    const { addresses } = fixture;
    channelsAddress = addresses.channels;
    log(
      `contracts deployed: SNT ${addresses.snt}, registry ${addresses.registry}, channels ${addresses.channels}`,
    );

    const p2pBase = options.p2pBase ?? (options.basePort ? options.basePort + 10 : 60_001);
    const httpBase = options.httpBase ?? (options.basePort ? options.basePort + 100 : 9_465);
    const started: RunningMailbox[] = [];
    for (const [i, spec] of (options.mailboxes ?? DEFAULT_MAILBOXES).entries()) {
      aborted();
      const dir = join(options.dataDir, `mailbox-${spec.name}`);
      const tcp = p2pBase + i * 10;
      const listen = [`/ip4/127.0.0.1/tcp/${tcp}`, `/ip4/127.0.0.1/tcp/${tcp + 1}/ws`];
      // What the registry lists: the listen addresses, and the secure one by the certificate's name.
      const registered = [...listen];
      if (options.tls) {
        listen.push(`/ip4/127.0.0.1/tcp/${tcp + 2}/tls/ws`);
        registered.push(`/dns4/localhost/tcp/${tcp + 2}/tls/ws`);
      }
      const keyFile = join(dir, "operator.key");
      mkdirSync(dir, { recursive: true });
      writeFileSync(keyFile, DEV_KEYS[spec.operator]!, { mode: 0o600 });
      const httpPort = httpBase + i;
      const operator = devWallet(rpc, spec.operator);
      const flags = [
        "node",
        "start",
        "--data-dir",
        dir,
        "--http-port",
        String(httpPort),
        "--log-level",
        options.logLevel ?? "warn",
        "--rpc-url",
        rpc,
        "--chain-id",
        "31337",
        "--registry",
        addresses.registry,
        "--channels",
        addresses.channels,
        "--operator-key-file",
        keyFile,
        ...(options.tls ? ["--tls-cert", TLS_FIXTURE.certPath, "--tls-key", TLS_FIXTURE.keyPath] : []),
        ...(spec.flags ?? []),
      ];
      for (const l of listen) flags.push("--listen", l);
      for (const s of started) flags.push("--bootstrap", s.addr);
      const launch = async () => {
        const child = watch(
          `mailbox ${spec.name}`,
          spawn(process.execPath, [...profileArgs(), POSTBOX_BIN, ...flags], {
            stdio: ["ignore", stdio, stdio],
            detached: true,
            env: { ...process.env, ...tlsEnv },
          }),
          operator.account.address,
        );
        await waitFor(
          `mailbox ${spec.name}`,
          async () => {
            if (child.exitCode !== null)
              throw new Fatal(
                `mailbox ${spec.name} exited (${child.exitCode}); are ports ${listen.join(", ")}, ${httpPort} free?`,
              );
            return (await health(`http://127.0.0.1:${httpPort}`)).ok;
          },
          // Two cores shared with a dashboard build and other test files: a start has taken > 60 s.
          120_000,
          options.signal,
        );
        return child;
      };
      const child = await launch();
      const peerId = peerIdFromPrivateKey(
        privateKeyFromProtobuf(readFileSync(join(dir, "peer.key"))),
      ).toString();
      const entry = await publicClient.readContract({
        address: addresses.registry,
        abi: mailboxRegistryAbi,
        functionName: "getMailbox",
        args: [operator.account.address],
      });
      if (entry.status === 0) {
        // Register in one transaction: SNT approveAndCall into the registry.
        await fixture.register(operator, {
          peerId,
          multiaddrs: registered,
          metadataURI: devnetMetadataURI(spec.name),
          stake: networkParameters.local.minStake * 2n,
          pricePerQuery: parseEther(spec.pricePerQuery),
          pricePerMessage: parseEther(spec.pricePerMessage),
          retentionSeconds: 30n * 86_400n,
        });
      }
      const running: RunningMailbox = {
        spec,
        dir,
        peerId,
        addr: `${listen[0]}/p2p/${peerId}`,
        secureAddr: options.tls ? `${registered[2]}/p2p/${peerId}` : undefined,
        listen,
        http: `http://127.0.0.1:${httpPort}`,
        operator: operator.account.address,
        process: child,
        stop: async (signal) => {
          await stopChild(running.process, signal);
        },
        restart: async () => {
          running.process = await launch();
          if (started.length > 1) await inMesh(running);
        },
      };
      started.push(running);
    }
    // Gossip reaches a mailbox only through its mesh: wait until every mailbox is in it, so what
    // is published next reaches them all.
    if (started.length > 1) await Promise.all(started.map(inMesh));
    aborted();
    let proberUrl: string | undefined;
    if (options.prober) {
      const p = options.prober;
      proberUrl = `http://127.0.0.1:${p.port}`;
      const child = watch(
        "prober",
        spawn(
          process.execPath,
          [
            POSTBOX_BIN,
            "prober",
            "start",
            "--data-dir",
            join(options.dataDir, "prober"),
            "--rpc-url",
            rpc,
            "--http-port",
            String(p.port),
            "--log-level",
            options.logLevel ?? "warn",
            ...(p.flags ?? []),
          ],
          {
            stdio: ["ignore", stdio, stdio],
            detached: true,
            env: { ...process.env, ...tlsEnv, POSTBOX_PROBER_KEY: DEV_KEYS[p.key]! },
          },
        ),
      );
      await waitFor(
        "the prober",
        async () => {
          if (child.exitCode !== null) throw new Fatal(`the prober exited (${child.exitCode})`);
          return (await health(proberUrl!)).ok;
        },
        60_000,
        options.signal,
      );
      log(`prober on ${proberUrl}`);
    }
    aborted();
    return {
      rpc,
      proberUrl,
      addresses,
      publicClient: publicClient as PublicClient,
      mailboxes: started,
      wallet: (i) => devWallet(rpc, i),
      spawnChild: (name, args, opts = {}) =>
        watch(
          name,
          spawn(process.execPath, args, {
            stdio: ["ignore", opts.stdout ?? stdio, stdio],
            detached: true,
            env: { ...process.env, ...tlsEnv, ...opts.env },
          }),
        ),
      stop,
      pending: () => [...children.values()].map((c) => c.name),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The devnet always starts a fresh chain, so the channels its data folder knows of belong to a
 * chain that is gone; Hardhat's deterministic deployer gives the new contracts the same addresses,
 * so nothing but the chain's state would tell them apart. Resets them, and says so: the clients'
 * channel records (`channels.db` in any folder of `dataDir`: the CLI user's, the prober's) and the
 * mailboxes' payment ledgers (`ledger.sqlite`). Identities, contacts, messages, keys and archives
 * are kept.
 */
function forgetPreviousChain(dataDir: string, log: (line: string) => void): void {
  const records: string[] = [];
  const ledgers: string[] = [];
  const remove = (dir: string, base: string, names: string[]) => {
    const files = [base, `${base}-wal`, `${base}-shm`, ...names].filter((f) => existsSync(join(dir, f)));
    for (const f of files) rmSync(join(dir, f), { force: true });
    return files.length > 0;
  };
  const entries = readdirSync(dataDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = join(dataDir, entry.name);
    // channels.json: the records of an older client, which it would import again.
    if (remove(dir, "channels.db", ["channels.json"])) records.push(entry.name);
    if (remove(dir, "ledger.sqlite", [])) ledgers.push(entry.name);
  }
  if (records.length > 0)
    log(
      `the previous chain is gone: reset channel records in ${records.join(", ")} (identities, contacts and messages kept)`,
    );
  if (ledgers.length > 0)
    log(
      `the previous chain is gone: reset payment ledgers in ${ledgers.join(", ")} (keys and archives kept)`,
    );
}
