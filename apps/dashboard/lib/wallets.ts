import { type DevnetAccount, describeDevnetRole } from "@postbox/contracts";
import { statusWord } from "./format";

/** A registry entry as the wallet menu needs it. */
export interface OperatorEntry {
  operator: string;
  status: number;
}

/**
 * What a devnet account is for, for the wallet menu: an account that operates a mailbox in the
 * registry says which (by the name in its metadata, else npm start's name for it); the others say
 * their role under `npm start` (the CLI user, the prober's key) or that they are free. Until the
 * registry is read (`entries` undefined), npm start's roles.
 */
export function devnetRole(
  account: DevnetAccount,
  entries: readonly OperatorEntry[] | undefined,
  names: ReadonlyMap<string, string>,
): string {
  const address = account.address.toLowerCase();
  if (!entries) return describeDevnetRole(account.role);
  const entry = entries.find((e) => e.operator.toLowerCase() === address && e.status !== 0);
  if (entry) {
    const name = names.get(address) ?? (account.role.kind === "operator" ? account.role.mailbox : undefined);
    const status = entry.status === 1 ? "" : ` (${statusWord(entry.status)})`;
    return `${name ? `operates mailbox ${name}` : "operates a mailbox"}${status}`;
  }
  if (account.role.kind === "operator") return "free (no mailbox registered)";
  return describeDevnetRole(account.role);
}

/** The wallet menu's line for a devnet account: "Devnet account #1 — operates mailbox alpha". */
export function devnetLabel(
  account: DevnetAccount,
  entries: readonly OperatorEntry[] | undefined,
  names: ReadonlyMap<string, string>,
): string {
  return `Devnet account #${account.index} — ${devnetRole(account, entries, names)}`;
}
