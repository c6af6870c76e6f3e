// Reading a mailbox's metadata document: data: URIs and a real HTTPS server on loopback (a
// self-signed certificate for localhost, in fixtures/, that only these tests trust).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isPrivateAddress,
  METADATA_MAX_BYTES,
  METADATA_REFRESH_MS,
  METADATA_RETRY_MS,
  MetadataError,
  type ReadMetadataOptions,
  readMetadata,
  refreshMetadata,
} from "./metadata.js";
import { SampleStore, type TrackedMailbox } from "./samples.js";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name));
const CARD = {
  name: "Alpha",
  description: "A mailbox\nin Berlin",
  contact: "ops@example.org",
  terms: "https://example.org/terms",
  icon: "https://example.org/i.png",
};

const dataUri = (doc: unknown) => `data:application/json,${encodeURIComponent(JSON.stringify(doc))}`;

const rejects = async (uri: string, message: RegExp, o?: ReadMetadataOptions) => {
  const err = await readMetadata(uri, o).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MetadataError);
  expect((err as MetadataError).shortMessage).toMatch(message);
  expect((err as MetadataError).shortMessage).not.toContain("\n");
};

describe("metadata in a data: URI", () => {
  it("reads a percent-encoded or base64 JSON document of plain strings, ignoring unknown fields", async () => {
    expect(await readMetadata(dataUri({ ...CARD, pubkey: "x", nested: { a: 1 } }))).toEqual(CARD);
    const b64 = Buffer.from(JSON.stringify({ name: "  Beta  " })).toString("base64");
    expect(await readMetadata(`data:application/json;base64,${b64}`)).toEqual({ name: "Beta" });
    expect(await readMetadata('DATA:Application/JSON;charset=utf-8,{"contact":"x@y.z"}')).toEqual({
      contact: "x@y.z",
    });
    expect(await readMetadata(dataUri({}))).toEqual({});
  });

  it("refuses what is not a small document of plain strings, in one line saying what", async () => {
    await rejects(dataUri({ name: 42 }), /metadata name: Expected string/);
    await rejects(dataUri({ name: "x".repeat(65) }), /metadata name: at most 64 characters/);
    await rejects(dataUri({ name: "red \u001b[31m" }), /metadata name: must be one line of plain text/);
    await rejects(
      dataUri({ contact: "evil\u202Egro.elpmaxe@" }),
      /metadata contact: must be one line of plain text/,
    );
    await rejects(dataUri({ icon: "javascript:alert(1)" }), /metadata icon: must be an https: URL/);
    await rejects(dataUri({ terms: "" }), /metadata terms: must not be empty/);
    await rejects(dataUri(["a"]), /not a JSON object/);
    await rejects("data:application/json,{nope", /not JSON/);
    await rejects("data:text/html,<b>hi</b>", /text\/html, not application\/json/);
    await rejects("data:application/json,%E0%A4%A", /percent-encoding/);
    await rejects(dataUri({ description: "x".repeat(METADATA_MAX_BYTES) }), /larger than 16384 bytes/);
    await rejects("postbox-devnet:alpha", /scheme postbox-devnet: is not read/);
    await rejects("http://example.org/m.json", /scheme http: is not read/);
    await rejects("ipfs://bafy", /scheme ipfs: is not read/);
  });
});

describe("metadata at an https: URL", () => {
  let server: Server;
  let base: string;
  const routes = new Map<string, (res: ServerResponse) => void>();
  let hits = 0;
  // A fetch that trusts the fixture's certificate (and nothing else differs from the real one).
  const agent = new Agent({ connect: { ca: fixture("localhost.crt") } });
  const o: ReadMetadataOptions = {
    fetch: ((url: URL, init: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch,
    allowPrivateHosts: true,
    timeoutMs: 1_000,
  };

  beforeAll(async () => {
    server = createServer({ key: fixture("localhost.key"), cert: fixture("localhost.crt") }, (req, res) => {
      hits++;
      const route = routes.get(req.url ?? "");
      if (route) route(res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `https://localhost:${(server.address() as AddressInfo).port}`;
    routes.set("/card.json", (res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(CARD)),
    );
    routes.set("/plain", (res) => res.writeHead(200, { "content-type": "text/plain" }).end('{"name":"P"}'));
    routes.set("/page.html", (res) =>
      res.writeHead(200, { "content-type": "text/html" }).end('{"name":"H"}'),
    );
    routes.set("/moved", (res) => res.writeHead(302, { location: "/card.json" }).end());
    routes.set("/gone", (res) => res.writeHead(500).end());
    routes.set("/slow", () => undefined);
    // No content-length: the cap must hold while reading.
    routes.set("/huge", (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`{"description":"${"x".repeat(METADATA_MAX_BYTES)}`);
      res.end('"}');
    });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await agent.close();
  });

  it("reads a JSON document, whatever text type it is served as", async () => {
    expect(await readMetadata(`${base}/card.json`, o)).toEqual(CARD);
    expect(await readMetadata(`${base}/plain`, o)).toEqual({ name: "P" });
  });

  it("refuses HTML, redirects, errors, more than 16 KB and slow answers", async () => {
    await rejects(`${base}/page.html`, /serves text\/html, not JSON/, o);
    await rejects(`${base}/moved`, /could not be fetched \(no redirects are followed\)/, o);
    await rejects(`${base}/gone`, /answered HTTP 500/, o);
    await rejects(`${base}/huge`, /larger than 16384 bytes/, o);
    await rejects(`${base}/slow`, /did not answer within 1000 ms/, o);
    await rejects(`https://user:pw@localhost:1/x`, /must not carry credentials/, o);
  });

  it("does not read its own operator's network unless told to", async () => {
    await rejects(`${base}/card.json`, /host localhost is a private address/, {
      ...o,
      allowPrivateHosts: false,
    });
    await rejects("https://127.0.0.1/x", /host 127\.0\.0\.1 is a private address/);
    await rejects("https://[::1]/x", /host ::1 is a private address/);
    for (const a of [
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "fd00::1",
      "fe80::1",
      "::ffff:127.0.0.1",
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ["1.1.1.1", "172.32.0.1", "2606:4700::1111"]) expect(isPrivateAddress(a), a).toBe(false);
  });

  it("keeps what it read, reads a data: URI once and an https: URL again after an hour (10 min after a failure)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-metadata-"));
    const store = new SampleStore(join(dir, "prober.sqlite"));
    try {
      const entry = (address: string, metadataURI: string): TrackedMailbox => ({
        address,
        peerId: "p",
        multiaddrs: [],
        status: 1,
        stake: 0n,
        pricePerQuery: 0n,
        pricePerMessage: 0n,
        pendingPricePerQuery: 0n,
        pendingPricePerMessage: 0n,
        priceEffectiveAt: 0,
        registeredAt: 0,
        withdrawableAt: 0,
        metadataURI,
      });
      store.upsertMailbox(entry("0xa", dataUri({ name: "A" })), 0);
      store.upsertMailbox(entry("0xb", `${base}/card.json`), 0);
      store.upsertMailbox(entry("0xc", ""), 0);
      let now = 1_000_000;
      hits = 0;
      const first = await refreshMetadata(store, now, o);
      expect(first.map((r) => r.mailbox).sort()).toEqual(["0xa", "0xb"]);
      expect(store.metadata("0xa")?.metadata).toEqual({ name: "A" });
      expect(store.metadata("0xb")?.metadata).toEqual(CARD);
      expect(store.metadata("0xc")).toMatchObject({ metadata: null, error: null });
      expect(hits).toBe(1);
      // Within the hour: nothing is read again.
      now += METADATA_REFRESH_MS - 1;
      expect(await refreshMetadata(store, now, o)).toEqual([]);
      expect(hits).toBe(1);
      // After it, the https: document is; the data: one never is.
      now += 1;
      expect((await refreshMetadata(store, now, o)).map((r) => r.mailbox)).toEqual(["0xb"]);
      expect(hits).toBe(2);
      // The server fails: the document read before stays, with the reason, and is tried again in 10 min.
      routes.set("/card.json", (res) => res.writeHead(503).end());
      now += METADATA_REFRESH_MS;
      expect(await refreshMetadata(store, now, o)).toEqual([
        { mailbox: "0xb", uri: `${base}/card.json`, error: "metadata URL answered HTTP 503" },
      ]);
      expect(store.metadata("0xb")).toMatchObject({
        metadata: CARD,
        error: "metadata URL answered HTTP 503",
      });
      expect(await refreshMetadata(store, now + METADATA_RETRY_MS - 1, o)).toEqual([]);
      expect(await refreshMetadata(store, now + METADATA_RETRY_MS, o)).toHaveLength(1);
      // A new URI is read at once.
      store.upsertMailbox(entry("0xa", dataUri({ name: "A2" })), 0);
      await refreshMetadata(store, now + METADATA_RETRY_MS, o);
      expect(store.metadata("0xa")?.metadata).toEqual({ name: "A2" });
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
