import { serverSettings } from "../../lib/env";

// The page's settings as the server has them now (see lib/env.ts), as a script the root layout loads
// before any of the page's code: one build of the dashboard serves any chain.
export const dynamic = "force-dynamic";

export function GET(): Response {
  return new Response(`globalThis.__POSTBOX_ENV__ = ${JSON.stringify(serverSettings())};\n`, {
    headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" },
  });
}
