import { describe, expect, it } from "vitest";
import { toBareHex } from "./canonical.js";
import { createIdentity } from "./crypto.js";
import { ExportedKeyError, parseExportedKey } from "./identity-export.js";

const id = createIdentity();
const priv = toBareHex(id.privateKey);
const pub = toBareHex(id.publicKey);
const other = toBareHex(createIdentity().publicKey);
const N = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"; // secp256k1's order

function problem(text: string): string {
  try {
    parseExportedKey(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ExportedKeyError);
    expect((err as Error).message).not.toContain(priv);
    return (err as ExportedKeyError).problem;
  }
  throw new Error("accepted");
}

describe("parseExportedKey: what postbox id --export and the web chat's Export your key give", () => {
  it.each([
    ["the key alone", priv],
    ["0x and upper case, with spaces around", `  0x${priv.toUpperCase()}\n`],
    ["both lines of postbox id --export", `publicKey ${pub}\nprivateKey ${priv}\n`],
    [
      "both lines run together (a one-line field)",
      `publicKey ${pub}privateKey ${priv}`.replace("privateKey", " privateKey"),
    ],
    ["the lines in the other order, with Windows line ends", `privateKey ${priv}\r\npublicKey ${pub}\r\n`],
    ["the privateKey line alone", `privateKey ${priv}`],
    ["the --json line", JSON.stringify({ publicKey: pub, privateKey: priv })],
  ])("takes %s", (_what, text) => {
    expect(parseExportedKey(text)).toEqual({ privateKey: priv, publicKey: pub });
  });

  it.each([
    ["nothing", " \n ", "empty"],
    ["broken JSON", `{"privateKey": "${priv}"`, "json"],
    ["JSON without privateKey", JSON.stringify({ publicKey: pub }), "no-private-key"],
    ["two keys and no privateKey line", `${priv}\n${priv}`, "lines"],
    ["words and no privateKey", `my key ${priv}`, "lines"],
    ["not hexadecimal", "g".repeat(64), "not-hex"],
    ["63 digits", priv.slice(1), "length"],
    ["a privateKey line with nothing after it", `publicKey ${pub}\nprivateKey`, "length"],
    ["zero", "0".repeat(64), "invalid"],
    ["the curve order", N, "invalid"],
    ["another key's publicKey line", `publicKey ${other}\nprivateKey ${priv}`, "mismatch"],
    ["another key's publicKey in JSON", JSON.stringify({ publicKey: other, privateKey: priv }), "mismatch"],
  ])("refuses %s (%s), never quoting the key", (_what, text, expected) => {
    expect(problem(text)).toBe(expected);
  });

  it("says how many digits a key of the wrong length has, and names the input", () => {
    expect(() => parseExportedKey(priv.slice(2), "identity.key")).toThrow(
      "the key in identity.key has 62 hexadecimal digits: a private key has 64 (32 bytes)",
    );
  });
});
