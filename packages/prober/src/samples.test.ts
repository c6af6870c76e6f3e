// The prober's database belongs to one chain and registry: a local chain restarted with the same
// data folder keeps its chain id and contract addresses, so the genesis block tells them apart.

import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SampleStore } from "./samples.js";

const REGISTRY = "0xE7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const deployment = (genesis: string, head = 100n, registry = REGISTRY) => ({ genesis, registry, head });

describe("the prober's database and its chain", () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "postbox-samples-"));
    path = join(dir, "prober.sqlite");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const fill = (store: SampleStore) => {
    store.set("registry:block", "50");
    store.addSample({ mailbox: "0xa", at: 1, kind: "probe", ok: true, latencyMs: 5, detail: "ok" });
  };

  it("keeps its history on the same chain", () => {
    const first = SampleStore.open(path, deployment("0xaaa"));
    fill(first.store);
    first.store.close();
    const again = SampleStore.open(path, deployment("0xaaa"));
    expect(again.setAside).toBeUndefined();
    expect(again.store.get("registry:block")).toBe("50");
    expect(again.store.counts("0xa", "probe", 0).ok).toBe(1);
    again.store.close();
  });

  it("sets another chain's database aside and starts afresh", () => {
    const first = SampleStore.open(path, deployment("0xaaa"));
    fill(first.store);
    first.store.close();
    const next = SampleStore.open(path, deployment("0xbbb", 3n));
    expect(next.setAside).toBe(`${path}.0xaaa.old`);
    // Nothing of the old chain: it would have skipped the new registry's events up to block 50.
    expect(next.store.get("registry:block")).toBeUndefined();
    expect(next.store.counts("0xa", "probe", 0).ok).toBe(0);
    expect(next.store.get("chain:genesis")).toBe("0xbbb");
    next.store.close();
    // The old one is kept, whole.
    const old = new SampleStore(next.setAside!);
    expect(old.counts("0xa", "probe", 0).ok).toBe(1);
    old.close();
    // A third chain: the second one's is set aside beside the first.
    SampleStore.open(path, deployment("0xccc")).store.close();
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith(".old"))
        .sort(),
    ).toEqual(["prober.sqlite.0xaaa.old", "prober.sqlite.0xbbb.old"]);
  });

  it("sets aside another registry's database", () => {
    SampleStore.open(path, deployment("0xaaa")).store.close();
    const next = SampleStore.open(
      path,
      deployment("0xaaa", 100n, "0x0000000000000000000000000000000000000001"),
    );
    expect(next.setAside).toBeDefined();
    next.store.close();
  });

  it("sets aside a database from before chains were recorded that has read past the chain's head", () => {
    const legacy = new SampleStore(path);
    fill(legacy);
    legacy.close();
    const next = SampleStore.open(path, deployment("0xbbb", 10n));
    expect(next.setAside).toBe(`${path}.unknown.old`);
    next.store.close();
    expect(existsSync(`${path}.unknown.old`)).toBe(true);
    // One that has not is adopted.
    const kept = new SampleStore(join(dir, "kept.sqlite"));
    fill(kept);
    kept.close();
    const adopted = SampleStore.open(join(dir, "kept.sqlite"), deployment("0xbbb", 60n));
    expect(adopted.setAside).toBeUndefined();
    expect(adopted.store.get("registry:block")).toBe("50");
    adopted.store.close();
  });
});
