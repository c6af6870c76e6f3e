/**
 * The link between the pages and the chat of this tab, without loading the SDK: the chat's runtime
 * registers here when it starts, so that "Use this mailbox" on `/` or `/mailbox/ADDR` pins through
 * the running client when there is one. Without one it writes the pin with
 * `@postbox/client/settings` (IndexedDB only) and tells other tabs over a BroadcastChannel.
 */

export interface ChatBridge {
  pin(id: string): Promise<void>;
  unpin(): Promise<void>;
}

let bridge: ChatBridge | undefined;

export function setChatBridge(b: ChatBridge | undefined): void {
  bridge = b;
}

/** The name of the channel on which pin changes are announced to other tabs. */
const BROADCAST = "postbox";

function announce(): void {
  if (typeof BroadcastChannel === "undefined") return;
  const c = new BroadcastChannel(BROADCAST);
  c.postMessage({ type: "pin" });
  c.close();
}

/** Pins a mailbox for the chat of this browser ("Use this mailbox"). */
export async function pinChatMailbox(id: string): Promise<void> {
  if (bridge) return bridge.pin(id);
  const { pinMailbox } = await import("@postbox/client/settings");
  await pinMailbox(id);
  announce();
}

/** Removes the pin: the chat chooses by score again. */
export async function unpinChatMailbox(): Promise<void> {
  if (bridge) return bridge.unpin();
  const { unpinMailbox } = await import("@postbox/client/settings");
  await unpinMailbox();
  announce();
}

/** The mailbox the chat of this browser is pinned to, if any. */
export async function chatMailbox(): Promise<string | undefined> {
  const { pinnedMailbox } = await import("@postbox/client/settings");
  return pinnedMailbox();
}

/** Calls `onChange` when the pin changes in any tab of this browser; returns the remover. */
export function onPinChange(onChange: () => void): () => void {
  if (typeof BroadcastChannel === "undefined") return () => undefined;
  const c = new BroadcastChannel(BROADCAST);
  c.onmessage = (e: MessageEvent<{ type?: string }>) => {
    if (e.data?.type === "pin") onChange();
  };
  return () => c.close();
}
