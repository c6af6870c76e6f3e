/**
 * The pino serializer for `err`: the short message and details (viem's), not a failed call's whole
 * ABI; the stack only for errors without a short message.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { shortMessage?: string; details?: string };
  const out: Record<string, unknown> = { type: e.name, message: e.shortMessage ?? e.message };
  if (e.details) out.details = e.details;
  if (e.shortMessage === undefined && e.stack) out.stack = e.stack;
  return out;
}
