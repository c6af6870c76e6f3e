"use client";

import dynamic from "next/dynamic";

// The SDK runs only in the browser (IndexedDB, WebCrypto, WebSockets, Web Workers): it is imported
// below this boundary, so the server never runs it. Next still compiles the boundary's modules for
// the server, which is why they import the SDK's browser entry by name (`@postbox/client/browser`):
// the server's conditions would resolve `@postbox/client` to the Node entry.
const load = () => import("./ChatApp");
// In the browser the chat's code starts loading with this module, not once the page has hydrated.
if (typeof window !== "undefined") void load();
const ChatApp = dynamic(load, {
  ssr: false,
  loading: () => (
    <p className="muted" data-testid="chat-loading">
      Loading the chat…
    </p>
  ),
});

export function ChatEntry() {
  return <ChatApp />;
}
