import { createHash, createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Transport } from "@libp2p/interface";
import { webSockets } from "@libp2p/websockets";
import type { Multiaddr } from "@multiformats/multiaddr";
import { ConfigError } from "./errors.js";

/** The certificate files of the mailbox's `/tls/ws` listen addresses (settings `tls.cert`, `tls.key`). */
export interface TlsFiles {
  /** PEM: the certificate, then any intermediate certificates (Let's Encrypt's `fullchain.pem`). */
  cert: string;
  /** PEM: its private key, unencrypted (Let's Encrypt's `privkey.pem`). */
  key: string;
}

/** A certificate and key read and checked, with what the logs say about it. */
export interface TlsCertificate {
  cert: string;
  key: string;
  /** The names it is valid for (`DNS:mbx.example.org, IP Address:127.0.0.1`). */
  subjectAltName: string;
  /** When it expires (ISO 8601). */
  validTo: string;
  /** `base64(SHA-256(SubjectPublicKeyInfo))`: Chromium's `--ignore-certificate-errors-spki-list` pin, HPKP's. */
  spki: string;
}

/** `base64(SHA-256(SPKI DER))` of a certificate's public key (Chromium's `--ignore-certificate-errors-spki-list`). */
export function spkiPin(cert: string | Buffer | X509Certificate): string {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const der = x509.publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64");
}

/** Whether a listen address is WebSockets over TLS (`/tls/ws`, `/tls/sni/HOST/ws` or `/wss`). */
export function isSecureWebSocket(ma: Multiaddr): boolean {
  return ma.getComponents().some((c) => c.name === "tls" || c.name === "wss");
}

function read(setting: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(setting, `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/**
 * Reads the certificate and key files and checks them: a PEM certificate, an unencrypted PEM private
 * key, and the key the certificate is for. Throws {@link ConfigError} naming the setting and the file.
 */
export function readTlsCertificate(files: TlsFiles): TlsCertificate {
  const cert = read("tls.cert", files.cert);
  const key = read("tls.key", files.key);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError("tls.cert", `${files.cert} holds no PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    // PKCS#8 ("ENCRYPTED PRIVATE KEY") or a traditional PEM with "Proc-Type: 4,ENCRYPTED".
    const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(key);
    throw new ConfigError(
      "tls.key",
      encrypted
        ? `${files.key} is encrypted: give the mailbox an unencrypted key file (mode 0600)`
        : `${files.key} holds no PEM private key`,
    );
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new ConfigError("tls.key", `${files.key} is not the key of the certificate in ${files.cert}`);
  return {
    cert,
    key,
    subjectAltName: x509.subjectAltName ?? "",
    validTo: new Date(x509.validTo).toISOString(),
    spki: spkiPin(x509),
  };
}

/** The mailbox's WebSockets transports, and how a new certificate reaches its TLS listeners. */
export interface MailboxWebSockets {
  transports: ((components: WebSocketComponents) => Transport)[];
  /** New TLS connections get `certificate` (connections already open keep theirs). */
  renew(certificate: Pick<TlsCertificate, "cert" | "key">): void;
}

type WebSocketComponents = Parameters<ReturnType<typeof webSockets>>[0];

/**
 * WebSockets for a mailbox. Without a certificate: the stock transport (plain `/ws`; it dials `/ws`
 * and `/tls/ws`). With one: two transports, one listening on plain `/ws` (and dialling both), one
 * listening on `/tls/ws` only, with the certificate (`webSockets({ https: { cert, key } })`).
 *
 * The TLS one hears certificate renewals on an event target of its own: @libp2p/websockets' listener
 * answers `certificate:renew` by serving new connections from a new https server with the new
 * certificate, and it would do so on every listener of its transport, plain ones included (which
 * would then also speak TLS and announce `/tls/ws` on their port). Hence the split.
 */
export function mailboxWebSockets(certificate?: Pick<TlsCertificate, "cert" | "key">): MailboxWebSockets {
  if (!certificate) return { transports: [webSockets()], renew: () => undefined };
  const renewals = new EventTarget();
  const plain = (components: WebSocketComponents): Transport =>
    narrow(webSockets()(components), (inner) => ({
      listenFilter: (addrs) => inner.listenFilter(addrs).filter((a) => !isSecureWebSocket(a)),
      dialFilter: (addrs) => inner.dialFilter(addrs),
    }));
  const secure = (components: WebSocketComponents): Transport =>
    narrow(
      webSockets({ https: { cert: certificate.cert, key: certificate.key } })({
        logger: components.logger,
        events: renewals as WebSocketComponents["events"],
        ...(components.metrics ? { metrics: components.metrics } : {}),
      }),
      (inner) => ({
        [Symbol.toStringTag]: "@postbox/websockets-tls",
        listenFilter: (addrs) => inner.listenFilter(addrs).filter(isSecureWebSocket),
        // The plain transport dials every WebSockets address.
        dialFilter: () => [],
      }),
    );
  return {
    transports: [plain, secure],
    renew: ({ cert, key }) =>
      renewals.dispatchEvent(new CustomEvent("certificate:renew", { detail: { cert, key } })),
  };
}

/** `inner` with some members replaced (its own methods still run on its state). */
function narrow(inner: Transport, overrides: (inner: Transport) => Partial<Transport>): Transport {
  return Object.assign(Object.create(inner) as Transport, overrides(inner));
}
