import { fromBareHex, toBareHex } from "./canonical.js";
import { createIdentity } from "./crypto.js";
import { BaseError } from "./errors.js";

/** What is wrong with a pasted or read identity export (see {@link parseExportedKey}). */
export type ExportedKeyProblem =
  | "empty"
  | "json"
  | "no-private-key"
  | "lines"
  | "not-hex"
  | "length"
  | "invalid"
  | "mismatch";

/** An identity export that cannot be used; `problem` says why. Its message never quotes the input. */
export class ExportedKeyError extends BaseError {
  override name = "ExportedKeyError";
  readonly problem: ExportedKeyProblem;
  /** With `length`: how many hexadecimal digits the key had. */
  readonly digits: number | undefined;

  constructor(problem: ExportedKeyProblem, message: string, digits?: number) {
    super(message);
    this.problem = problem;
    this.digits = digits;
  }
}

/**
 * An identity's private key from what a person exported: the two lines of `postbox id --export`
 * (`publicKey …` and `privateKey …`, also run together on one line), its `--json` line, or the 64 hexadecimal digits alone (the
 * web chat's "Export your key"; `0x` allowed). Where the export names its public key, the private
 * key must be its (a cut or mixed-up paste is refused). Returns both keys as bare lowercase hex;
 * throws {@link ExportedKeyError}, whose message names the input as `from`.
 */
export function parseExportedKey(
  text: string,
  from = "the input",
): { privateKey: string; publicKey: string } {
  const trimmed = text.trim();
  if (trimmed === "")
    throw new ExportedKeyError(
      "empty",
      `${from} is empty: give what postbox id --export wrote, or the 64 hexadecimal digits of "Export your key"`,
    );
  let value: string;
  let claimed: string | undefined;
  if (trimmed.startsWith("{")) {
    let parsed: { privateKey?: unknown; publicKey?: unknown };
    try {
      parsed = JSON.parse(trimmed) as typeof parsed;
    } catch {
      throw new ExportedKeyError(
        "json",
        `${from} is not valid JSON (postbox id --export --json writes one line)`,
      );
    }
    if (typeof parsed.privateKey !== "string")
      throw new ExportedKeyError(
        "no-private-key",
        `${from} has no privateKey field (it was not written by postbox id --export)`,
      );
    value = parsed.privateKey;
    if (typeof parsed.publicKey === "string") claimed = parsed.publicKey;
  } else {
    // By words, not lines: a paste into a one-line field loses the line break between the two.
    const words = trimmed.split(/\s+/);
    const after = (name: string) => {
      const at = words.indexOf(name);
      return at < 0 ? undefined : (words[at + 1] ?? "");
    };
    const privateKey = after("privateKey");
    if (privateKey !== undefined) {
      value = privateKey;
      claimed = after("publicKey");
    } else if (words.length === 1) {
      value = words[0]!;
    } else {
      const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== "").length;
      throw new ExportedKeyError(
        "lines",
        `${from} has ${lines > 1 ? `${lines} lines` : `${words.length} words`} and no privateKey line: give what postbox id --export wrote, or the key alone`,
      );
    }
  }
  const hex = value.replace(/^0x/i, "").toLowerCase();
  if (!/^[0-9a-f]*$/.test(hex))
    throw new ExportedKeyError(
      "not-hex",
      `the key in ${from} is not hexadecimal: a key has only the digits 0-9 and a-f`,
    );
  if (hex.length !== 64)
    throw new ExportedKeyError(
      "length",
      `the key in ${from} has ${hex.length} hexadecimal digits: a private key has 64 (32 bytes)`,
      hex.length,
    );
  let publicKey: string;
  try {
    publicKey = toBareHex(createIdentity(fromBareHex(hex)).publicKey);
  } catch {
    throw new ExportedKeyError(
      "invalid",
      `the key in ${from} is not a valid secp256k1 private key (it is zero, or not below the curve order)`,
    );
  }
  if (claimed !== undefined && claimed.replace(/^0x/i, "").toLowerCase() !== publicKey)
    throw new ExportedKeyError(
      "mismatch",
      `the publicKey in ${from} is not the privateKey's: the paste is cut or mixed up (nothing imported)`,
    );
  return { privateKey: hex, publicKey };
}
