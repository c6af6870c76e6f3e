import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { BaseError, type MailboxMetadata } from "@postbox/protocol";
import { z } from "zod";
import type { SampleStore } from "./samples.js";

/** Largest metadata document read (bytes, after decoding). */
export const METADATA_MAX_BYTES = 16 * 1024;
/** How long an `https:` metadata document may take to arrive. */
export const METADATA_TIMEOUT_MS = 5_000;
/** An `https:` document is read again after this long (a `data:` one only when the URI changes). */
export const METADATA_REFRESH_MS = 60 * 60_000;
/** After a failed read, the next try waits this long. */
export const METADATA_RETRY_MS = 10 * 60_000;

/** A metadata URI could not be read or its document is not valid; `shortMessage` says why in one line. */
export class MetadataError extends BaseError {
  override name = "MetadataError" as const;
}

// Plain text: no control characters (escape sequences would reach a terminal) nor bidirectional
// overrides (they make text read other than it is); line breaks and tabs only where `lines` allows.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const ONE_LINE = /^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const LINES = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$/;
const plain = (max: number, lines = false) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `at most ${max} characters`)
    .regex(lines ? LINES : ONE_LINE, lines ? "must be plain text" : "must be one line of plain text");
const httpsUrl = z
  .string()
  .trim()
  .max(500, "at most 500 characters")
  .refine((v) => URL.canParse(v) && new URL(v).protocol === "https:", "must be an https: URL");

/**
 * The metadata document (docs/methodology.md, "The mailbox's card"): a small JSON object of plain
 * strings, in the spirit of a Nostr relay's NIP-11 document. Unknown fields are ignored.
 */
export const mailboxMetadataSchema = z
  .object({
    name: plain(64).optional(),
    description: plain(500, true).optional(),
    contact: plain(200).optional(),
    terms: plain(1_000, true).optional(),
    icon: httpsUrl.optional(),
  })
  .strip();

export interface ReadMetadataOptions {
  /** The fetch to use for `https:` URIs (default: the global one). */
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
  /**
   * Read `https:` URIs whose host is or resolves to a loopback, private or link-local address
   * (default false: a registrant must not make the prober read its operator's own network).
   */
  allowPrivateHosts?: boolean;
}

/** True for loopback, private, link-local, unspecified and shared (CGNAT) addresses. */
export function isPrivateAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 4) {
    const [a, b] = address.split(".").map(Number) as [number, number];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b < 128) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b < 32) ||
      (a === 192 && b === 168)
    );
  }
  if (v === 6) {
    const x = address.toLowerCase();
    if (x === "::" || x === "::1") return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(x);
    if (mapped) return isPrivateAddress(mapped[1]!);
    return /^f[cd]/.test(x) || /^fe[89ab]/.test(x);
  }
  return false;
}

/** Parses and validates a metadata document's text. */
export function parseMetadata(json: string): MailboxMetadata {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new MetadataError("metadata is not JSON", { details: (err as Error).message });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new MetadataError("metadata is not a JSON object");
  const parsed = mailboxMetadataSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MetadataError(`metadata ${issue.path.join(".") || "document"}: ${issue.message}`);
  }
  const out: MailboxMetadata = {};
  for (const [k, v] of Object.entries(parsed.data)) if (v !== undefined) out[k as keyof MailboxMetadata] = v;
  return out;
}

/** The bytes of a `data:application/json[;charset=utf-8][;base64],…` URI. */
function dataUriBytes(uri: string): Uint8Array {
  const comma = uri.indexOf(",");
  if (comma < 0) throw new MetadataError("metadata data: URI has no comma");
  const params = uri
    .slice("data:".length, comma)
    .split(";")
    .map((p) => p.trim().toLowerCase());
  if (params[0] !== "application/json")
    throw new MetadataError(`metadata data: URI is ${params[0] || "text/plain"}, not application/json`);
  const body = uri.slice(comma + 1);
  if (body.length > 3 * METADATA_MAX_BYTES)
    throw new MetadataError(`metadata is larger than ${METADATA_MAX_BYTES} bytes`);
  if (params.includes("base64")) {
    const bytes = Buffer.from(decodeURIComponent(body), "base64");
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  try {
    return new TextEncoder().encode(decodeURIComponent(body));
  } catch {
    throw new MetadataError("metadata data: URI is not valid percent-encoding");
  }
}

async function checkHost(hostname: string): Promise<void> {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost") || isPrivateAddress(host))
    throw new MetadataError(`metadata host ${host} is a private address`);
  if (isIP(host)) return;
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch (err) {
    throw new MetadataError(`metadata host ${host} does not resolve`, { details: (err as Error).message });
  }
  const inside = addresses.find((a) => isPrivateAddress(a.address));
  if (inside)
    throw new MetadataError(`metadata host ${host} resolves to a private address (${inside.address})`);
}

async function httpsBytes(uri: string, o: ReadMetadataOptions): Promise<Uint8Array> {
  const url = new URL(uri);
  if (url.username || url.password) throw new MetadataError("metadata URL must not carry credentials");
  if (!o.allowPrivateHosts) await checkHost(url.hostname);
  const timeoutMs = o.timeoutMs ?? METADATA_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await (o.fetch ?? globalThis.fetch)(url, {
      signal,
      redirect: "error",
      headers: { accept: "application/json" },
    });
  } catch (err) {
    const e = err as Error;
    if (e.name === "TimeoutError" || signal.aborted)
      throw new MetadataError(`metadata URL did not answer within ${timeoutMs} ms`);
    throw new MetadataError("metadata URL could not be fetched (no redirects are followed)", {
      details: (e.cause as Error | undefined)?.message ?? e.message,
    });
  }
  try {
    if (!res.ok) throw new MetadataError(`metadata URL answered HTTP ${res.status}`);
    const type = res.headers.get("content-type") ?? "";
    if (/html|xml|javascript/i.test(type))
      throw new MetadataError(`metadata URL serves ${type.split(";")[0]}, not JSON`);
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > METADATA_MAX_BYTES)
      throw new MetadataError(`metadata is larger than ${METADATA_MAX_BYTES} bytes (${length})`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > METADATA_MAX_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw new MetadataError(`metadata is larger than ${METADATA_MAX_BYTES} bytes`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks);
  } catch (err) {
    if (err instanceof MetadataError) throw err;
    if (signal.aborted) throw new MetadataError(`metadata URL did not answer within ${timeoutMs} ms`);
    throw new MetadataError("metadata URL's answer broke off", { details: (err as Error).message });
  } finally {
    if (!res.bodyUsed) await res.body?.cancel().catch(() => undefined);
  }
}

/**
 * Reads the metadata document a registry entry's `metadataURI` names: a `data:application/json`
 * URI (the document inside it) or an `https:` URL (at most {@link METADATA_MAX_BYTES}, within
 * {@link METADATA_TIMEOUT_MS}, no redirects, not from private addresses). Resolves with the
 * validated document, or rejects with a {@link MetadataError}.
 */
export async function readMetadata(uri: string, o: ReadMetadataOptions = {}): Promise<MailboxMetadata> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  let bytes: Uint8Array;
  if (scheme === "data") bytes = dataUriBytes(uri);
  else if (scheme === "https") bytes = await httpsBytes(uri, o);
  else
    throw new MetadataError(
      `metadata URI ${scheme ? `scheme ${scheme}:` : `"${uri.slice(0, 40)}"`} is not read: use data:application/json or https:`,
    );
  if (bytes.byteLength > METADATA_MAX_BYTES)
    throw new MetadataError(`metadata is larger than ${METADATA_MAX_BYTES} bytes`);
  let json: string;
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new MetadataError("metadata is not UTF-8 text");
  }
  return parseMetadata(json);
}

/**
 * Reads the metadata document of every mailbox in `store` whose `metadataURI` changed since it was
 * last read, or whose `https:` document is older than {@link METADATA_REFRESH_MS} (after a failed
 * read, {@link METADATA_RETRY_MS}); a `data:` document is read once per URI. What was read, or why
 * not, is stored for the report; a document read earlier from the same URL stays while a refresh
 * fails. Returns what it read.
 */
export async function refreshMetadata(
  store: SampleStore,
  now: number,
  options: ReadMetadataOptions = {},
): Promise<{ mailbox: string; uri: string; error: string | null }[]> {
  const read: { mailbox: string; uri: string; error: string | null }[] = [];
  await Promise.all(
    store.mailboxes().map(async (m) => {
      const uri = m.metadataURI ?? "";
      const last = store.metadata(m.address);
      if (last && last.uri === uri) {
        if (uri === "" || /^data:/i.test(uri)) return;
        if (now - last.at < (last.error ? METADATA_RETRY_MS : METADATA_REFRESH_MS)) return;
      }
      if (uri === "") {
        store.setMetadata(m.address, { uri, at: now, metadata: null, error: null });
        return;
      }
      let error: string | null = null;
      try {
        const metadata = await readMetadata(uri, options);
        store.setMetadata(m.address, { uri, at: now, metadata, error });
      } catch (err) {
        error =
          err instanceof MetadataError ? err.shortMessage : `metadata could not be read: ${String(err)}`;
        const kept = last && last.uri === uri ? last.metadata : null;
        store.setMetadata(m.address, { uri, at: now, metadata: kept, error });
      }
      read.push({ mailbox: m.address, uri, error });
    }),
  );
  return read;
}
