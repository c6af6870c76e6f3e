/**
 * Message format v2 in real Chromium: the test vectors of packages/protocol/src/vectors/v2.json
 * opened with WebCrypto (BoringSSL) and with noble, row by row as in Node; the raw WebCrypto
 * backend on S + L and on an R with a small-order component; a device key kept non-extractable in
 * IndexedDB across a reload; and messages sealed in the page opened in Node (OpenSSL), and back.
 *
 * The page loads an esbuild bundle of the protocol's own sources (platform "browser": a `node:`
 * import would fail the build), served from 127.0.0.1 (WebCrypto needs a secure context).
 */
import * as nodeCrypto from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ed25519 } from "@noble/curves/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import {
  CertificateCache,
  createIdentity,
  deviceKeyFromSeed,
  fromBareHex,
  nobleVerifier,
  nodeCryptoEd25519,
  openEnvelope,
  sealRoomV2,
  signDeviceCertificate,
  toBareHex,
} from "@postbox/protocol";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url);
const CHROMIUM = process.env.POSTBOX_CHROMIUM ?? "/usr/bin/chromium";
/** What this test reads of v2.json (packages/protocol/src/vectors/check.ts has the full type). */
interface V2VectorFile {
  rows: { name: string; expect: Record<string, unknown> }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("packages/protocol/src/vectors/v2.json", ROOT), "utf8"),
) as V2VectorFile;

// What the page exposes (window.postboxV2).
const ENTRY = `
import { runVectorRows } from "./packages/protocol/src/vectors/check.ts";
import {
  CertificateCache, createIdentity, fromBareHex, generateDeviceKey, loadDeviceKey, nobleEd25519, nobleVerifier,
  openEnvelope, sealRoomV2, signDeviceCertificate, toBareHex, webCryptoEd25519,
} from "./packages/protocol/src/index.ts";

const idb = (run) => new Promise((resolve, reject) => {
  const open = indexedDB.open("protocol-v2-test", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("kv");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const tx = open.result.transaction("kv", "readwrite");
    const req = run(tx.objectStore("kv"));
    tx.oncomplete = () => { open.result.close(); resolve(req.result); };
    tx.onerror = () => reject(tx.error);
  };
});

window.postboxV2 = {
  runVectors: async (v) => ({
    webcrypto: await runVectorRows(v, { ed25519: webCryptoEd25519(), secp256k1: nobleVerifier }),
    noble: await runVectorRows(v, { ed25519: nobleEd25519, secp256k1: nobleVerifier }),
    shared: await runVectorRows(v, { ed25519: webCryptoEd25519() , secp256k1: nobleVerifier }, { shared: true }),
  }),
  rawVerify: async (key, message, signature) => {
    const k = await crypto.subtle.importKey("raw", fromBareHex(key), "Ed25519", false, ["verify"]);
    return crypto.subtle.verify("Ed25519", k, fromBareHex(signature), fromBareHex(message));
  },
  makeDeviceKey: async () => {
    const key = await generateDeviceKey();
    await idb((s) => s.put(key.stored, "device"));
    return { publicKey: toBareHex(key.publicKey), format: key.stored.format, extractable: key.stored.keyPair?.privateKey.extractable };
  },
  sealWithStoredKey: async (identityKey, timestamp) => {
    const stored = await idb((s) => s.get("device"));
    const device = await loadDeviceKey(stored);
    const identity = createIdentity(fromBareHex(identityKey));
    const t = BigInt(timestamp);
    const certificate = signDeviceCertificate(identity, device.publicKey, { notBefore: t - 1000n, notAfter: t + 1000n });
    const sealed = await sealRoomV2({ identity, device, certificate }, "#browser", { type: "text", text: "from Chromium" }, t);
    return { contentTopic: sealed.contentTopic, payload: toBareHex(sealed.payload), messageId: toBareHex(sealed.messageId) };
  },
  open: async (room, e) => {
    const m = await openEnvelope(
      { kind: "room", room },
      { contentTopic: e.contentTopic, timestamp: BigInt(e.timestamp), payload: fromBareHex(e.payload) },
      { certs: new CertificateCache(), secp256k1: nobleVerifier, ed25519: webCryptoEd25519() },
    );
    return { text: m.text, messageId: toBareHex(m.messageId), version: m.version };
  },
};
`;

interface PageApi {
  runVectors(v: V2VectorFile): Promise<Record<"webcrypto" | "noble" | "shared", unknown[]>>;
  rawVerify(key: string, message: string, signature: string): Promise<boolean>;
  makeDeviceKey(): Promise<{ publicKey: string; format: string; extractable: boolean | undefined }>;
  sealWithStoredKey(
    identityKey: string,
    timestamp: string,
  ): Promise<{ contentTopic: string; payload: string; messageId: string }>;
  open(
    room: string,
    e: { contentTopic: string; timestamp: string; payload: string },
  ): Promise<{ text: string; messageId: string; version: number }>;
}

const call = <K extends keyof PageApi>(page: Page, name: K, ...args: Parameters<PageApi[K]>) =>
  page.evaluate(
    ([n, a]) =>
      (globalThis as unknown as { postboxV2: Record<string, (...x: unknown[]) => unknown> }).postboxV2[n]!(
        ...a,
      ),
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<PageApi[K]>>>;

let server: Server;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let origin: string;
const pageErrors: string[] = [];

async function bundle(): Promise<string> {
  const esbuild = await import("esbuild");
  const out = await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: ROOT.pathname, sourcefile: "protocol-v2-entry.js", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0]!.text;
}

async function openPage(): Promise<Page> {
  const p = await context.newPage();
  p.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(m.text());
  });
  p.on("pageerror", (e) => pageErrors.push(String(e)));
  await p.goto(`${origin}/`);
  await p.waitForFunction(() => "postboxV2" in globalThis);
  return p;
}

beforeAll(async () => {
  const js = await bundle();
  server = createServer((req, res) => {
    if (req.url === "/bundle.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    } else if (req.url === "/") {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(
          '<!doctype html><link rel="icon" href="data:,"><script type="module" src="/bundle.js"></script>',
        );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context = await browser.newContext();
  page = await openPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  expect(pageErrors, "the page logged errors").toEqual([]);
});

describe("message format v2 in Chromium", () => {
  it("opens every vector row as expected, with WebCrypto and with noble, cached or not", async () => {
    const expected = vectors.rows.map((r) => ({ name: r.name, ...r.expect }));
    const got = await call(page, "runVectors", vectors);
    expect(got.webcrypto).toEqual(expected);
    expect(got.noble).toEqual(expected);
    expect(got.shared).toEqual([...expected, ...expected]);
  });

  it("WebCrypto (BoringSSL) itself refuses S + L and an R with a small-order component", async () => {
    const seed = new Uint8Array(32).fill(9);
    const key = ed25519.getPublicKey(seed);
    const message = new TextEncoder().encode("postbox");
    const sig = ed25519.sign(message, seed);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const readLE = (b: Uint8Array) => b.reduceRight((v, x) => (v << 8n) | BigInt(x), 0n);
    const le32 = (v: bigint) =>
      Uint8Array.from({ length: 32 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
    const sPlusL = new Uint8Array([...sig.subarray(0, 32), ...le32(readLE(sig.subarray(32)) + L)]);
    // R = rB + T (T of order 8), S = r + k·a: noble's cofactored equation accepts it.
    const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
    const r = readLE(sha512(new TextEncoder().encode("r"))) % L;
    const order8 = ed25519.ExtendedPoint.fromHex(
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    );
    const R = ed25519.ExtendedPoint.BASE.multiply(r).add(order8).toRawBytes();
    const k = readLE(sha512(new Uint8Array([...R, ...pointBytes, ...message]))) % L;
    const torsion = new Uint8Array([...R, ...le32((r + k * scalar) % L)]);
    expect(ed25519.verify(torsion, message, key, { zip215: false })).toBe(true);

    const verify = (s: Uint8Array) =>
      call(page, "rawVerify", toBareHex(key), toBareHex(message), toBareHex(s));
    expect(await verify(sig)).toBe(true);
    expect(await verify(sPlusL)).toBe(false);
    expect(await verify(torsion)).toBe(false);
  });

  it("keeps a non-extractable device key in IndexedDB across a reload, and its messages open in Node", async () => {
    const made = await call(page, "makeDeviceKey");
    expect(made).toMatchObject({ format: "webcrypto", extractable: false });
    await page.close();
    page = await openPage();
    const alice = createIdentity();
    const t = 1_767_225_600_000n;
    const sealed = await call(page, "sealWithStoredKey", toBareHex(alice.privateKey), t.toString());
    const m = await openEnvelope(
      { kind: "room", room: "browser" },
      { contentTopic: sealed.contentTopic, timestamp: t, payload: fromBareHex(sealed.payload) },
      { certs: new CertificateCache(), secp256k1: nobleVerifier, ed25519: nodeCryptoEd25519(nodeCrypto) },
    );
    expect(m).toMatchObject({ version: 2, text: "from Chromium" });
    expect(toBareHex(m.deviceKey!)).toBe(made.publicKey);
    expect(toBareHex(m.messageId)).toBe(sealed.messageId);
  });

  it("opens what Node sealed", async () => {
    const alice = createIdentity();
    const device = await deviceKeyFromSeed(new Uint8Array(32).fill(3));
    const t = 1_767_225_600_000n;
    const certificate = signDeviceCertificate(alice, device.publicKey, { notBefore: t, notAfter: t + 1n });
    const sealed = await sealRoomV2(
      { identity: alice, device, certificate },
      "#node",
      { type: "text", text: "from Node" },
      t,
    );
    const m = await call(page, "open", "node", {
      contentTopic: sealed.contentTopic,
      timestamp: t.toString(),
      payload: toBareHex(sealed.payload),
    });
    expect(m).toEqual({ version: 2, text: "from Node", messageId: toBareHex(sealed.messageId) });
  });
});
