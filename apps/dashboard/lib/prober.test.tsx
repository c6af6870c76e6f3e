// @vitest-environment happy-dom
// The prober hooks against an HTTP server that answers like the prober (its JSON shape and
// status codes): loading, data, and the error a page shows when the prober is down.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

let server: Server;
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    res.setHeader("access-control-allow-origin", "*");
    if (req.url === "/mailboxes") {
      res.end(
        JSON.stringify({
          signer: "0x1",
          signature: "0x2",
          report: { generatedAt: 1, mailboxes: [{ address: "0xa", score: 0.5 }] },
        }),
      );
    } else if (req.url?.startsWith("/mailboxes/0xa/samples?from=")) {
      res.end(
        JSON.stringify({
          signer: "0x1",
          signature: "0x2",
          report: { samples: [{ at: 1, kind: "probe", ok: true, latencyMs: 3, detail: "ok" }] },
        }),
      );
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: "not found" }));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  vi.stubEnv("NEXT_PUBLIC_PROBER_URL", `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(() => {
  server.close();
  vi.unstubAllEnvs();
});

const wrapper = ({ children }: { children: ReactNode }) => (
  <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
    {children}
  </QueryClientProvider>
);

describe("prober hooks", () => {
  it("useMailboxes loads the report's mailboxes", async () => {
    const { useMailboxes } = await import("./prober");
    const { result } = renderHook(() => useMailboxes(), { wrapper });
    expect(result.current.isPending).toBe(true);
    await waitFor(() => expect(result.current.data?.mailboxes).toEqual([{ address: "0xa", score: 0.5 }]));
    expect(hits).toBeGreaterThan(0);
  });

  it("useSamples asks for a time window and returns its samples", async () => {
    const { useSamples } = await import("./prober");
    const { result } = renderHook(() => useSamples("0xa", 0), { wrapper });
    await waitFor(() => expect(result.current.data?.samples).toHaveLength(1));
  });

  it("surfaces the prober's failure as an error", async () => {
    const { useSamples } = await import("./prober");
    const { result } = renderHook(() => useSamples("0xunknown", 0), { wrapper });
    await waitFor(() => expect(result.current.error).toBeInstanceOf(Error));
    expect(result.current.data).toBeUndefined();
  });
});

describe("what the prober reports about a mailbox, read defensively", () => {
  const base = { address: "0xa" } as never;

  it("keeps only well-typed sample counts", async () => {
    const { samplesOf } = await import("./prober");
    const samples = { probes24h: 5, probes7d: 40, probes30d: 40, canaries7d: 3 };
    expect(samplesOf({ ...(base as object), samples } as never)).toEqual(samples);
    expect(samplesOf(base)).toBeUndefined();
    expect(
      samplesOf({ ...(base as object), samples: { ...samples, probes7d: "40" } } as never),
    ).toBeUndefined();
  });

  it("keeps the metadata's strings as text, cut to a sane length", async () => {
    const { metadataOf } = await import("./prober");
    expect(metadataOf({ ...(base as object), metadata: null } as never)).toBeUndefined();
    expect(metadataOf(base)).toBeUndefined();
    expect(
      metadataOf({
        ...(base as object),
        metadata: { name: ` ${"n".repeat(200)} `, contact: 42, terms: "", description: "<b>hi</b>" },
      } as never),
    ).toEqual({ name: "n".repeat(80), description: "<b>hi</b>" });
  });

  it("reads the info answer only when every field has its type", async () => {
    const { infoOf } = await import("./prober");
    const info = {
      version: "0.1.0",
      retentionSeconds: 2_592_000,
      maxPageSize: 100,
      maxContentTopics: 10,
      maxEnvelopeBytes: 65_536,
      envelopes: 12,
      free: false,
      chainId: 31337,
      at: 1_700_000_000_000,
    };
    expect(infoOf({ ...(base as object), info } as never)).toEqual(info);
    expect(infoOf({ ...(base as object), info: { ...info, free: "no" } } as never)).toBeUndefined();
    expect(infoOf({ ...(base as object), info: null } as never)).toBeUndefined();
  });

  it("links only https: and mailto: (and bare e-mail addresses)", async () => {
    const { safeHref } = await import("./prober");
    expect(safeHref("https://example.org/terms")).toBe("https://example.org/terms");
    expect(safeHref("mailto:ops@example.org")).toBe("mailto:ops@example.org");
    expect(safeHref("ops@example.org")).toBe("mailto:ops@example.org");
    expect(safeHref("javascript:alert(1)")).toBeUndefined();
    expect(safeHref("http://example.org")).toBeUndefined();
    expect(safeHref("data:text/html,hi")).toBeUndefined();
    expect(safeHref("@ops on Matrix")).toBeUndefined();
  });
});
