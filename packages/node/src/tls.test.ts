import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "./errors.js";
import { isSecureWebSocket, readTlsCertificate, spkiPin } from "./tls.js";

const FIXTURES = resolve(import.meta.dirname, "../../../test/fixtures/tls");
const cert = join(FIXTURES, "localhost.crt");
const key = join(FIXTURES, "localhost.key");
const dir = mkdtempSync(join(tmpdir(), "postbox-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(files: { cert: string; key: string }): ConfigError {
  try {
    readTlsCertificate(files);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message.split("\n")).toHaveLength(1);
    return e as ConfigError;
  }
  return expect.unreachable();
}

describe("the mailbox's certificate", () => {
  it("reads a certificate and its key, with the names, the expiry and the SPKI pin", () => {
    const c = readTlsCertificate({ cert, key });
    expect(c.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
    expect(c.validTo).toBe("2099-12-31T23:59:59.000Z");
    // What `openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
    // base64` prints for the fixture (test/fixtures/tls/README.md).
    expect(c.spki).toBe("EI0d7o4UdT12/DotmmkKAtJZPrAyzWQrLvf2AxTdI3s=");
    expect(spkiPin(readFileSync(join(FIXTURES, "localhost-renewed.crt")))).toBe(
      "ubffYtsaggNQmKWPBScwJwpOSQvWI27HjBRjUB503FM=",
    );
  });

  it("refuses files it cannot use, naming the setting and the file", () => {
    const missing = refusal({ cert: join(dir, "none.pem"), key });
    expect(missing.setting).toBe("tls.cert");
    expect(missing.message).toMatch(/cannot read .*none\.pem \(ENOENT\)/);

    expect(refusal({ cert: key, key }).message).toMatch(/localhost\.key holds no PEM certificate/);
    const notAKey = refusal({ cert, key: cert });
    expect(notAKey.setting).toBe("tls.key");
    expect(notAKey.message).toMatch(/holds no PEM private key/);

    const other = refusal({ cert, key: join(FIXTURES, "localhost-renewed.key") });
    expect(other.setting).toBe("tls.key");
    expect(other.message).toMatch(
      /localhost-renewed\.key is not the key of the certificate in .*localhost\.crt/,
    );

    const encrypted = join(dir, "encrypted.pem");
    const { privateKey } = generateKeyPairSync("ec", {
      namedCurve: "P-256",
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "secret" },
    });
    writeFileSync(encrypted, privateKey);
    expect(refusal({ cert, key: encrypted }).message).toMatch(
      /is encrypted: give the mailbox an unencrypted key/,
    );
  });

  it("tells WebSockets over TLS from plain WebSockets", () => {
    for (const a of [
      "/ip4/0.0.0.0/tcp/4443/tls/ws",
      "/dns4/mbx.example.org/tcp/443/wss",
      "/ip4/1.2.3.4/tcp/1/tls/sni/x.org/ws",
    ])
      expect(isSecureWebSocket(multiaddr(a)), a).toBe(true);
    for (const a of ["/ip4/0.0.0.0/tcp/60002/ws", "/ip4/0.0.0.0/tcp/60001"])
      expect(isSecureWebSocket(multiaddr(a)), a).toBe(false);
  });
});
