"use client";

import { useCallback, useState } from "react";
import { chatError } from "./words";

/**
 * One button's action: whether it runs (`busy`, to disable the button) and what went wrong, in
 * words (`error`, to show beside it). `run` resolves with the action's result, or undefined when
 * it failed.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await fn();
    } catch (err) {
      setError(chatError(err));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  const clear = useCallback(() => setError(undefined), []);
  return { busy, error, run, clear };
}
