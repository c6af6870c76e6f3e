"use client";

import { useEffect, useState, useSyncExternalStore } from "react";
import type { Account, Chain, Transport, WalletClient } from "viem";
import { useConnection, useWalletClient } from "wagmi";
import { type ChatRuntime, type ChatState, getRuntime, type ThreadPage } from "./runtime";

/** The tab's chat runtime (started on first use). */
export function useRuntime(): ChatRuntime {
  return getRuntime();
}

/** The chat's state; the component re-renders when it changes. */
export function useChat(): ChatState {
  const rt = getRuntime();
  return useSyncExternalStore(rt.subscribe, rt.getState, rt.getState);
}

/**
 * Tells the runtime which wallet pays the channels: the connected one (wagmi), none, or "not known
 * yet" while wagmi is still reconnecting a remembered wallet.
 */
export function useWalletBridge(): void {
  const connection = useConnection();
  const wallet = useWalletClient();
  const { status, address } = connection;
  const client = wallet.data;
  useEffect(() => {
    const rt = getRuntime();
    if (status === "disconnected") rt.setWallet({ settled: true, wallet: undefined });
    else if (
      status === "connected" &&
      client &&
      client.account.address.toLowerCase() === address.toLowerCase()
    )
      rt.setWallet({
        settled: true,
        wallet: { address, client: client as WalletClient<Transport, Chain | undefined, Account> },
      });
  }, [status, address, client]);
}

/**
 * The last `limit` messages of a conversation with their delivery states, read again when its
 * messages change (a page saved, a message sent or acknowledged).
 */
export function useThread(
  conversation: string,
  limit: number,
  /** Read again this often as well (a group's members join without a message to show). */
  refreshMs?: number,
): { page?: ThreadPage; error?: string } {
  const state = useChat();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!refreshMs) return;
    const t = setInterval(() => setTick((x) => x + 1), refreshMs);
    return () => clearInterval(t);
  }, [refreshMs]);
  const version = state.versions[conversation] ?? 0;
  const sending = state.pending.filter((p) => p.conversation === conversation).length;
  const ready = state.phase === "ready";
  // Keyed by conversation: while more of the same one loads ("Show earlier"), what is shown stays.
  const [result, setResult] = useState<{ key: string; page?: ThreadPage; error?: string }>({ key: "" });
  useEffect(() => {
    if (!ready) return;
    let live = true;
    void version;
    void sending;
    void tick;
    getRuntime()
      .thread(conversation, limit)
      .then(
        (page) => live && setResult({ key: conversation, page }),
        (err: unknown) => live && setResult({ key: conversation, error: (err as Error).message }),
      );
    return () => {
      live = false;
    };
  }, [conversation, limit, version, sending, ready, tick]);
  // A page read for another conversation is not shown while this one loads.
  return result.key === conversation ? result : {};
}

/** Copies text to the clipboard; `copied` says so for two seconds. */
export function useCopy(): { copied: string | undefined; copy: (what: string, text: string) => void } {
  const [copied, setCopied] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(undefined), 2_000);
    return () => clearTimeout(t);
  }, [copied]);
  return {
    copied,
    copy: (what, text) => {
      void navigator.clipboard?.writeText(text).then(
        () => setCopied(what),
        () => setCopied(undefined),
      );
    },
  };
}
