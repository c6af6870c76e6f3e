"use client";

import {
  addStakeRequest,
  announcePriceRequest,
  mailboxRegistryAbi,
  type RegistryMailbox,
  registerMailboxRequest,
  requestExitRequest,
  setRetentionRequest,
  unjailRequest,
  updateEndpointRequest,
  withdrawStakeRequest,
} from "@postbox/contracts";
import { effectivePrice, formatDuration, formatSnt, PRICE_REFERENCE_LABEL } from "@postbox/protocol";
import { useState } from "react";
import type { Address } from "viem";
import { useBlock, useConnection, useReadContract } from "wagmi";
import { Field } from "../../components/Field";
import { StatusBadge } from "../../components/StatusBadge";
import {
  type Check,
  checkAmount,
  checkDays,
  checkMultiaddrs,
  checkPeerId,
  MAX_CONTRACT_AMOUNT,
} from "../../lib/amount";
import { useRegistryRules, useSntBalance } from "../../lib/chain";
import { useChainTime } from "../../lib/chain-time";
import { settings } from "../../lib/env";
import { countdown, formatTime } from "../../lib/format";
import { exact, priceText, referencePagePrice } from "../../lib/mailboxes";
import { TxStatus, useTransaction } from "../../lib/tx";
import { OperatorHistory } from "./History";

type Tx = ReturnType<typeof useTransaction>;
type Rules = { minStake: bigint; unbondingPeriod: bigint; priceDelay: bigint };

/** An amount as a field shows it: exact, no unit, no grouping ("0.0001"). */
const plain = (x: bigint) => formatSnt(x, { digits: 18, unit: false, group: false });
const err = <T,>(c: Check<T>) => (c.ok ? undefined : c.message);
const PRICE_MAX = { amount: MAX_CONTRACT_AMOUNT, name: "the largest price the registry stores" };

/** A metadata URI: empty, or a URL (https:, ipfs:, data: …). */
function checkUri(input: string): Check<string> {
  const t = input.trim();
  if (t === "") return { ok: true, value: "" };
  try {
    new URL(t);
    return { ok: true, value: t };
  } catch {
    return { ok: false, message: "Not a URL: for example https://example.org/mailbox.json." };
  }
}

export default function OperatePage() {
  const { address } = useConnection();
  const now = useChainTime();
  const tx = useTransaction();
  const balance = useSntBalance(address);
  const rules = useRegistryRules();
  const entry = useReadContract({
    address: settings.registry,
    abi: mailboxRegistryAbi,
    functionName: "getMailbox",
    args: address ? [address] : undefined,
    query: { enabled: !!address, refetchInterval: 5_000 },
  });

  if (!address) return <p className="notice">Connect a wallet (top right) to operate a mailbox.</p>;
  const m = entry.data;
  if (entry.error)
    return <p className="error">Cannot read the registry: {entry.error.message.split("\n")[0]}</p>;
  if (!m || !rules.data) return <p className="muted">Loading your registry entry…</p>;
  const registered = m.status !== 0;
  // A jail term outlives the entry: it also bars registering again after a withdrawal.
  const jailedUntil = Number(m.jailedUntil);
  const termRunning = jailedUntil > 0 && (now === undefined || now < jailedUntil);

  return (
    <>
      <h1>Operate a mailbox</h1>
      <p>
        Status:{" "}
        <strong data-testid="operator-status">
          {registered ? <StatusBadge status={m.status} /> : "not registered"}
        </strong>
        {registered ? ` · stake ${formatSnt(m.stake)}` : ""}
        {m.status === 3 || termRunning ? (
          <>
            {" "}
            ·{" "}
            <span data-testid="jailed-until">
              {jailedUntil === 0
                ? "no jail term"
                : `jailed until ${formatTime(jailedUntil)} (${termRunning ? (now === undefined ? "…" : countdown(jailedUntil, now)) : "over"})`}
            </span>
          </>
        ) : null}{" "}
        · wallet{" "}
        <strong data-testid="balance">{balance.data === undefined ? "…" : formatSnt(balance.data)}</strong>
      </p>
      {!registered ? (
        <Register
          tx={tx}
          rules={rules.data}
          balance={balance.data}
          jailedUntil={termRunning ? jailedUntil : undefined}
        />
      ) : (
        <div className="grid">
          {m.status === 3 ? <Jail tx={tx} m={m} now={now} rules={rules.data} /> : null}
          <Prices tx={tx} m={m} now={now} rules={rules.data} />
          <Stake tx={tx} m={m} address={address} balance={balance.data} minStake={rules.data.minStake} />
          <Endpoint tx={tx} m={m} />
          <Retention tx={tx} m={m} />
          <Exit tx={tx} m={m} now={now} rules={rules.data} />
        </div>
      )}
      <OperatorHistory operator={address} />
    </>
  );
}

/**
 * A jailed mailbox: its term and what unjailing needs. It is jailed by the disputes address (with a
 * term) or by a slash that left its stake below the minimum (no term); it returns with unjail once
 * the term is over and the stake is at least the minimum, or leaves with an exit.
 */
function Jail({ tx, m, now, rules }: { tx: Tx; m: RegistryMailbox; now: number | undefined; rules: Rules }) {
  // The contract compares the term with the time of the block that runs unjail, and the call is
  // simulated on the latest block first: the term is over once the latest block says so, which
  // can be a few seconds after the clock passed it.
  const latest = useBlock({ watch: true }).data?.timestamp;
  const until = Number(m.jailedUntil);
  const termOver = latest !== undefined && Number(latest) >= until;
  const short = m.stake < rules.minStake ? rules.minStake - m.stake : 0n;
  const reasons: string[] = [];
  if (!termOver)
    reasons.push(
      now !== undefined && now >= until
        ? "The jail term is over with the next block (a few seconds)."
        : `The jail term runs until ${formatTime(until)} (${now === undefined ? "…" : countdown(until, now)}).`,
    );
  if (short > 0n)
    reasons.push(
      `The stake is ${formatSnt(m.stake)}, below the minimum of ${formatSnt(rules.minStake)}: add at least ${formatSnt(short)} first.`,
    );
  return (
    <div className="card">
      <h2>Jailed</h2>
      <p data-testid="jail-term">
        {until === 0
          ? "No jail term: a slash left the stake below the minimum."
          : `Term: until ${formatTime(until)}, ${termOver ? "over" : now === undefined ? "…" : countdown(until, now)}.`}
      </p>
      <p className="muted small">
        A jailed mailbox is not listed: clients do not choose it. It returns with unjail after its term, with
        at least the minimum stake of {formatSnt(rules.minStake)}, or leaves with an exit.
      </p>
      <button
        type="button"
        className="primary"
        disabled={tx.status.busy || reasons.length > 0}
        aria-describedby="unjail-note"
        onClick={() => void tx.send("jail", "Unjail", unjailRequest({ registry: settings.registry }))}
      >
        Unjail
      </button>
      <p id="unjail-note" className={reasons.length ? "muted small" : "small"} data-testid="unjail-note">
        {reasons.length
          ? reasons.join(" ")
          : "The term is over and the stake meets the minimum: unjail to be listed again."}
      </p>
      <TxStatus status={tx.status} scope="jail" />
    </div>
  );
}

function Register({
  tx,
  rules,
  balance,
  jailedUntil,
}: {
  tx: Tx;
  rules: Rules;
  balance: bigint | undefined;
  /** The end of a jail term still running (registering waits for it). */
  jailedUntil: number | undefined;
}) {
  const [form, setForm] = useState({
    peerId: "",
    multiaddrs: "",
    metadataURI: "",
    stake: "",
    pricePerQuery: "0.01",
    pricePerMessage: "0.0001",
    retentionDays: "30",
  });
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const minimum = { amount: rules.minStake, name: "the minimum stake" };
  const max = balance === undefined ? undefined : { amount: balance, name: "your balance" };
  const stake: Check<bigint> =
    form.stake.trim() === ""
      ? balance !== undefined && balance < rules.minStake
        ? {
            ok: false,
            message: `The minimum stake is ${formatSnt(rules.minStake)} and your balance is ${formatSnt(balance)}.`,
          }
        : { ok: true, value: rules.minStake }
      : checkAmount(form.stake, { min: minimum, ...(max ? { max } : {}) });
  const checks = {
    peerId: checkPeerId(form.peerId),
    multiaddrs: checkMultiaddrs(form.multiaddrs),
    metadataURI: checkUri(form.metadataURI),
    stake,
    pricePerQuery: checkAmount(form.pricePerQuery, { max: PRICE_MAX }),
    pricePerMessage: checkAmount(form.pricePerMessage, { max: PRICE_MAX }),
    retention: checkDays(form.retentionDays),
  };
  const c = checks;
  const valid = Object.values(checks).every((x) => x.ok) && jailedUntil === undefined;
  const decimal = { inputMode: "decimal" } as const;
  const fields: [
    keyof typeof form,
    string,
    Check<unknown>,
    { placeholder?: string; inputMode?: "decimal" },
  ][] = [
    ["peerId", "Peer id", c.peerId, { placeholder: "12D3KooW…" }],
    ["multiaddrs", "Multiaddrs (space separated)", c.multiaddrs, { placeholder: "/ip4/…/tcp/…" }],
    ["metadataURI", "Metadata URI (optional)", c.metadataURI, { placeholder: "https://…/mailbox.json" }],
    [
      "stake",
      "Stake (SNT)",
      c.stake,
      { ...decimal, placeholder: `minimum, ${formatSnt(rules.minStake, { unit: false })}` },
    ],
    ["pricePerQuery", "Price per query (SNT)", c.pricePerQuery, decimal],
    ["pricePerMessage", "Price per message (SNT)", c.pricePerMessage, decimal],
    ["retentionDays", "Retention (days)", c.retention, decimal],
  ];
  return (
    <div className="card">
      <h2>Register</h2>
      <p className="muted">
        One transaction: SNT <code>approveAndCall</code> into the registry with your stake (at least{" "}
        {formatSnt(rules.minStake)}). The peer id and addresses are what <code>postbox node init</code>{" "}
        prints.
      </p>
      {jailedUntil !== undefined ? (
        <p className="notice" data-testid="register-jailed">
          This account's jail term runs until {formatTime(jailedUntil)}: it can register again after that.
        </p>
      ) : null}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!valid || !c.peerId.ok || !c.multiaddrs.ok || !c.metadataURI.ok || !c.stake.ok) return;
          if (!c.pricePerQuery.ok || !c.pricePerMessage.ok || !c.retention.ok) return;
          void tx.send(
            "register",
            "Register",
            registerMailboxRequest({
              ...settings,
              peerId: c.peerId.value,
              multiaddrs: c.multiaddrs.value,
              metadataURI: c.metadataURI.value,
              stake: c.stake.value,
              pricePerQuery: c.pricePerQuery.value,
              pricePerMessage: c.pricePerMessage.value,
              retentionSeconds: c.retention.value,
            }),
            { snt: c.stake.value, spender: settings.registry },
          );
        }}
      >
        {fields.map(([name, label, check, extra]) => (
          <Field
            key={name}
            label={label}
            name={name}
            value={form[name]}
            onChange={set(name)}
            error={err(check)}
            {...extra}
          />
        ))}
        <button className="primary" type="submit" disabled={tx.status.busy || !valid}>
          Register
        </button>
      </form>
      {c.pricePerQuery.ok && c.pricePerMessage.ok ? (
        <p className="muted small">
          That is{" "}
          {formatSnt(
            referencePagePrice({
              pricePerQuery: c.pricePerQuery.value,
              pricePerMessage: c.pricePerMessage.value,
            }),
            exact,
          )}{" "}
          {PRICE_REFERENCE_LABEL}.
        </p>
      ) : null}
      <TxStatus status={tx.status} scope="register" />
    </div>
  );
}

function Prices({
  tx,
  m,
  now,
  rules,
}: {
  tx: Tx;
  m: RegistryMailbox;
  now: number | undefined;
  rules: Rules;
}) {
  const { price, pending } = effectivePrice(m, now ?? Math.floor(Date.now() / 1000));
  // The form starts from the latest announced price (pending, or the one in force): announcing
  // without editing would change nothing, so the button waits for an edit.
  const latest = pending ?? price;
  const [edit, setEdit] = useState<{ q?: string; m?: string }>({});
  const q = edit.q ?? plain(latest.pricePerQuery);
  const msg = edit.m ?? plain(latest.pricePerMessage);
  const cq = checkAmount(q, { max: PRICE_MAX });
  const cm = checkAmount(msg, { max: PRICE_MAX });
  const changed =
    cq.ok && cm.ok && (cq.value !== latest.pricePerQuery || cm.value !== latest.pricePerMessage);
  const increase = cq.ok && cm.ok && (cq.value > price.pricePerQuery || cm.value > price.pricePerMessage);
  return (
    <div className="card">
      <h2>Prices</h2>
      <p data-testid="current-price">Now: {priceText(price)}</p>
      {pending ? (
        <p className="fair" data-testid="price-countdown">
          Announced: {priceText(pending)}, applies{" "}
          {now === undefined ? "…" : countdown(pending.effectiveAt, now)}
        </p>
      ) : null}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!cq.ok || !cm.ok || !changed) return;
          void tx
            .send(
              "prices",
              "Announce price",
              announcePriceRequest({ ...settings, pricePerQuery: cq.value, pricePerMessage: cm.value }),
            )
            .then((ok) => ok && setEdit({}));
        }}
      >
        <Field
          label="Per query (SNT)"
          name="newPricePerQuery"
          inputMode="decimal"
          value={q}
          onChange={(v) => setEdit({ ...edit, q: v })}
          error={err(cq)}
        />
        <Field
          label="Per message (SNT)"
          name="newPricePerMessage"
          inputMode="decimal"
          value={msg}
          onChange={(v) => setEdit({ ...edit, m: v })}
          error={err(cm)}
        />
        <button className="primary" type="submit" disabled={tx.status.busy || m.status !== 1 || !changed}>
          Announce price
        </button>
      </form>
      <p className="muted small" data-testid="price-note">
        {m.status !== 1
          ? "Only an active mailbox can change its price."
          : !changed
            ? "Edit a price to announce a new one."
            : `New: ${formatSnt(referencePagePrice({ pricePerQuery: cq.ok ? cq.value : 0n, pricePerMessage: cm.ok ? cm.value : 0n }), exact)} ${PRICE_REFERENCE_LABEL}, ${increase ? `applies ${formatDuration(Number(rules.priceDelay))} after the announcement (an increase)` : "applies at once (a decrease)"}.`}
      </p>
      <TxStatus status={tx.status} scope="prices" />
    </div>
  );
}

function Stake({
  tx,
  m,
  address,
  balance,
  minStake,
}: {
  tx: Tx;
  m: RegistryMailbox;
  address: Address;
  balance: bigint | undefined;
  minStake: bigint;
}) {
  const [amount, setAmount] = useState("");
  const c = checkAmount(amount, {
    positive: true,
    ...(balance === undefined ? {} : { max: { amount: balance, name: "your balance" } }),
  });
  const allowed = m.status === 1 || m.status === 3;
  return (
    <div className="card">
      <h2>Stake</h2>
      <p>
        Staked: <strong>{formatSnt(m.stake)}</strong>
      </p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!c.ok) return;
          void tx
            .send(
              "stake",
              "Add stake",
              addStakeRequest({ ...settings, operator: address, amount: c.value }),
              { snt: c.value, spender: settings.registry },
            )
            .then((ok) => ok && setAmount(""));
        }}
      >
        <Field
          label="Add (SNT)"
          name="addStake"
          inputMode="decimal"
          value={amount}
          onChange={setAmount}
          error={err(c)}
        />
        <button className="primary" type="submit" disabled={tx.status.busy || !allowed || !c.ok}>
          Add stake
        </button>
      </form>
      {!allowed ? (
        <p className="muted small">An exiting mailbox cannot add stake.</p>
      ) : m.stake < minStake ? (
        <p className="muted small" data-testid="stake-short">
          Below the minimum of {formatSnt(minStake)}: add at least {formatSnt(minStake - m.stake)}.
        </p>
      ) : null}
      <TxStatus status={tx.status} scope="stake" />
    </div>
  );
}

function Endpoint({ tx, m }: { tx: Tx; m: RegistryMailbox }) {
  // Starts from what the registry holds, and returns to it after an update.
  const [edit, setEdit] = useState<{ peerId?: string; multiaddrs?: string; metadataURI?: string }>({});
  const peerId = edit.peerId ?? m.peerId;
  const multiaddrs = edit.multiaddrs ?? m.multiaddrs.join(" ");
  const metadataURI = edit.metadataURI ?? m.metadataURI;
  const cp = checkPeerId(peerId);
  const ca = checkMultiaddrs(multiaddrs);
  const cu = checkUri(metadataURI);
  const changed =
    cp.ok &&
    ca.ok &&
    cu.ok &&
    (cp.value !== m.peerId || ca.value.join(" ") !== m.multiaddrs.join(" ") || cu.value !== m.metadataURI);
  return (
    <div className="card">
      <h2>Endpoint</h2>
      <form
        className="column"
        onSubmit={(e) => {
          e.preventDefault();
          if (!cp.ok || !ca.ok || !cu.ok) return;
          void tx
            .send(
              "endpoint",
              "Update endpoint",
              updateEndpointRequest({
                registry: settings.registry,
                peerId: cp.value,
                multiaddrs: ca.value,
                metadataURI: cu.value,
              }),
            )
            .then((ok) => ok && setEdit({}));
        }}
      >
        <Field
          label="Peer id"
          name="newPeerId"
          value={peerId}
          onChange={(v) => setEdit({ ...edit, peerId: v })}
          error={err(cp)}
        />
        <Field
          label="Multiaddrs (space separated)"
          name="newMultiaddrs"
          value={multiaddrs}
          onChange={(v) => setEdit({ ...edit, multiaddrs: v })}
          error={err(ca)}
        />
        <Field
          label="Metadata URI"
          name="newMetadataURI"
          value={metadataURI}
          onChange={(v) => setEdit({ ...edit, metadataURI: v })}
          error={err(cu)}
        />
        <div className="row">
          <button type="submit" disabled={tx.status.busy || !changed}>
            Update endpoint
          </button>
          {Object.keys(edit).length ? (
            <button type="button" onClick={() => setEdit({})}>
              Undo changes
            </button>
          ) : null}
        </div>
      </form>
      <TxStatus status={tx.status} scope="endpoint" />
    </div>
  );
}

function Retention({ tx, m }: { tx: Tx; m: RegistryMailbox }) {
  const current = String(Number(m.retention) / 86_400);
  const [days, setDays] = useState<string | undefined>(undefined);
  const value = days ?? current;
  const c = checkDays(value);
  const changed = c.ok && c.value !== m.retention;
  return (
    <div className="card">
      <h2>Retention</h2>
      <p>
        Promised: <strong>{formatDuration(Number(m.retention))}</strong>
      </p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!c.ok) return;
          void tx
            .send(
              "retention",
              "Set retention",
              setRetentionRequest({ registry: settings.registry, retentionSeconds: c.value }),
            )
            .then((ok) => ok && setDays(undefined));
        }}
      >
        <Field
          label="Days"
          name="retentionDays"
          inputMode="decimal"
          value={value}
          onChange={setDays}
          error={err(c)}
        />
        <button type="submit" disabled={tx.status.busy || !changed}>
          Set retention
        </button>
      </form>
      <TxStatus status={tx.status} scope="retention" />
    </div>
  );
}

function Exit({ tx, m, now, rules }: { tx: Tx; m: RegistryMailbox; now: number | undefined; rules: Rules }) {
  const [confirming, setConfirming] = useState(false);
  const unbonding = Number(rules.unbondingPeriod);
  // An exit keeps the stake until every receipt given so far can have been disputed and settled:
  // the retention from the exit (or the horizon of a longer retention shortened since, which the
  // registry keeps; then later still), then the unbonding period.
  const retention = Number(m.retention);
  const hold = retention + unbonding;
  const clock = now ?? Math.floor(Date.now() / 1000);
  const jailedUntil = Number(m.jailedUntil);
  // A jail term never delays a withdrawal, but registering again waits for it.
  const term =
    jailedUntil > clock
      ? `Its jail term (until ${formatTime(jailedUntil)}) does not delay the withdrawal, but this account can register again only after it.`
      : "";
  return (
    <div className="card">
      <h2>Exit</h2>
      {m.status === 2 ? (
        <>
          <p data-testid="withdraw-countdown">
            Stake of {formatSnt(m.stake)} withdrawable{" "}
            {now === undefined ? "…" : countdown(Number(m.withdrawableAt), now)} (
            {formatTime(m.withdrawableAt)})
          </p>
          {term ? <p className="muted small">{term}</p> : null}
          <button
            type="button"
            className="primary"
            disabled={tx.status.busy || now === undefined || now < Number(m.withdrawableAt)}
            onClick={() =>
              void tx.send("exit", "Withdraw stake", withdrawStakeRequest({ registry: settings.registry }))
            }
          >
            Withdraw stake
          </button>
        </>
      ) : confirming ? (
        <div role="alertdialog" aria-labelledby="exit-title" aria-describedby="exit-text" className="confirm">
          <p id="exit-title">
            <strong>Request an exit?</strong>
          </p>
          <p id="exit-text" data-testid="exit-confirmation">
            {m.status === 3
              ? "The mailbox, unlisted while jailed, leaves the registry instead of returning: it will not be listed again and its prices are frozen."
              : "The mailbox leaves the list at once: clients stop choosing it and its prices are frozen."}{" "}
            Your stake of {formatSnt(m.stake)} stays locked while the receipts you gave can still be disputed:
            your retention of {formatDuration(retention)}, then the registry's unbonding period of{" "}
            {formatDuration(unbonding)}, so that misbehaviour found meanwhile can still be slashed: if you
            confirm now, it becomes withdrawable at {formatTime(clock + hold)} (in {formatDuration(hold)},
            later if you shortened your retention recently).{term ? ` ${term}` : ""} An exit cannot be undone;
            to serve again, register anew after withdrawing.
          </p>
          <div className="row">
            <button
              type="button"
              className="danger"
              disabled={tx.status.busy}
              onClick={() =>
                void tx
                  .send("exit", "Request exit", requestExitRequest({ registry: settings.registry }))
                  .then(() => setConfirming(false))
              }
            >
              Confirm exit
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      ) : (
        <>
          <p className="muted small">
            {m.status === 3 ? "A jailed mailbox can leave at any time. " : ""}The stake can be withdrawn{" "}
            {formatDuration(hold)} after the exit: your retention ({formatDuration(retention)}) and the
            unbonding period ({formatDuration(unbonding)}).
          </p>
          <button
            type="button"
            disabled={tx.status.busy}
            onClick={() => {
              tx.clear();
              setConfirming(true);
            }}
          >
            Request exit…
          </button>
        </>
      )}
      <TxStatus status={tx.status} scope="exit" />
    </div>
  );
}
