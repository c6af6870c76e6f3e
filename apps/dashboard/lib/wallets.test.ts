import { DEVNET_ACCOUNTS, DEVNET_KEYS } from "@postbox/contracts";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { devnetLabel } from "./wallets";

const account = (i: number) => DEVNET_ACCOUNTS[i]!;

describe("the devnet accounts in the wallet menu", () => {
  it("lists npm start's accounts with the keys they come from", () => {
    expect(DEVNET_ACCOUNTS.map((a) => a.address)).toEqual(
      DEVNET_KEYS.map((k) => privateKeyToAccount(k).address),
    );
    expect(DEVNET_ACCOUNTS.map((a) => a.role.kind)).toEqual([
      "deployer",
      "operator",
      "operator",
      "operator",
      "cli",
      "free",
      "prober",
      "free",
    ]);
  });

  it("says what each account is for, before and after reading the registry", () => {
    const none = new Map<string, string>();
    // Before the registry answers: npm start's roles.
    expect([1, 4, 5, 6].map((i) => devnetLabel(account(i), undefined, none))).toEqual([
      "Devnet account #1 — operates mailbox alpha",
      "Devnet account #4 — the CLI user (npm start's export line)",
      "Devnet account #5 — free",
      "Devnet account #6 — the prober's key (pays for canaries)",
    ]);
    // The registry says who operates what; the prober's metadata names it.
    const entries = [
      { operator: account(1).address.toLowerCase(), status: 1 },
      { operator: account(2).address, status: 2 },
      { operator: account(5).address, status: 1 },
    ];
    const names = new Map([[account(1).address.toLowerCase(), "Alpha Post"]]);
    expect([1, 2, 3, 5, 7].map((i) => devnetLabel(account(i), entries, names))).toEqual([
      "Devnet account #1 — operates mailbox Alpha Post",
      "Devnet account #2 — operates mailbox beta (exiting)",
      "Devnet account #3 — free (no mailbox registered)",
      "Devnet account #5 — operates a mailbox",
      "Devnet account #7 — free",
    ]);
  });
});
