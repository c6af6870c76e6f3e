// The client's identity and device key in a data folder (Node platform, SQLite): no network.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEVICE_CERTIFICATE_LIFETIME_MS, DEVICE_CERTIFICATE_RENEW_MS } from "@postbox/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { nodePlatform } from "../platform/node/index.js";
import { PostboxClient } from "./client.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const DAY = 86_400_000;
const open = (location: string) => PostboxClient.create(nodePlatform(), { location });

describe("identity and device key", () => {
  it("keeps the identity and its certified device key across restarts, and certifies it again before it expires", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-client-"));
    dirs.push(dir);
    const now = Date.now();
    const a = await open(dir);
    const first = await a.device(now);
    expect(first.notAfter - first.notBefore).toBe(Number(DEVICE_CERTIFICATE_LIFETIME_MS));
    expect(first.notBefore).toBeLessThanOrEqual(now);
    const identity = a.publicKey;
    await a.stop();

    const b = await open(dir);
    expect(b.publicKey).toBe(identity);
    expect(await b.device(now)).toEqual(first); // the same key and certificate, from storage
    // A day before the renewal window: still the same certificate.
    const renewAt = first.notAfter - Number(DEVICE_CERTIFICATE_RENEW_MS);
    expect(await b.device(renewAt - DAY)).toEqual(first);
    // Inside it: the same device key, certified again from then, and kept.
    const renewed = await b.device(renewAt + DAY);
    expect(renewed.publicKey).toBe(first.publicKey);
    expect(renewed.notAfter).toBeGreaterThan(first.notAfter);
    await b.stop();
    const c = await open(dir);
    expect(await c.device(renewAt + DAY)).toEqual(renewed);
    await c.stop();
  });

  it("makes another device key for another identity of the same folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-client-"));
    dirs.push(dir);
    const a = await open(dir);
    const key = (await a.device()).publicKey;
    // The identity replaced behind the client's back (an imported one).
    await a.storage.set("identity", "11".repeat(32));
    await a.stop();
    const b = await open(dir);
    expect((await b.device()).publicKey).not.toBe(key);
    await b.stop();
  });
});
