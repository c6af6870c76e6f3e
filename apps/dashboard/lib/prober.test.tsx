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
