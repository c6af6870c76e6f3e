"use client";

import { formatSnt, PRICE_REFERENCE_PAGE, pageCost } from "@postbox/protocol";
import Link from "next/link";
import { useEffect, useState } from "react";
import type { Address } from "viem";
import { checkAmount } from "../../lib/amount";
import { useSntBalance } from "../../lib/chain";
import { useChainTime } from "../../lib/chain-time";
import { useChat, useRuntime } from "../../lib/chat/hooks";
import type { ChannelView } from "../../lib/chat/runtime";
import { untilText } from "../../lib/chat/words";
import { shortAddress } from "../../lib/format";
import { Field } from "../Field";

/**
 * Paying mailboxes: a channel per mailbox opened from the connected wallet, with this browser's
 * session key as its signer (vouchers need no wallet pop-up); the spending cap; what each mailbox
 * has been paid (spent, authorised, deposit, redeemed on-chain) and the total; close and withdraw.
 */
export function PaymentsPanel() {
  const state = useChat();
  const rt = useRuntime();
  const now = useChainTime();
  const balance = useSntBalance(state.wallet);
  useEffect(() => {
    void rt.refreshChannels();
  }, [rt]);

  if (!state.wallet)
    return (
      <p className="notice" data-testid="payments-no-wallet">
        Connect a wallet (top right) to pay mailboxes. The chat opens one channel per mailbox from it, with a
        key kept in this browser as the channel's signer: each page of history is then paid with a voucher
        signed here, without asking your wallet again.
      </p>
    );

  const names = new Map(state.mailboxes.map((m) => [m.id, m.name]));
  const nameOf = (payee: string) => names.get(payee.toLowerCase()) ?? shortAddress(payee);
  const total = state.channels.reduce(
    (a, c) => ({
      deposit: a.deposit + c.deposit,
      spent: a.spent + c.spent,
      authorized: a.authorized + c.authorized,
      paidOnChain: a.paidOnChain + c.paidOnChain,
    }),
    { deposit: 0n, spent: 0n, authorized: 0n, paidOnChain: 0n },
  );

  return (
    <div className="chat-payments">
      <p className="muted">
        Paying from <span className="address">{state.wallet}</span> (
        {balance.data === undefined ? "…" : formatSnt(balance.data)}). Vouchers are signed by the session key{" "}
        <span className="address" data-testid="session-key">
          {state.session}
        </span>{" "}
        kept in this browser: a deposit and your spending cap bound what it can ever spend. Close and withdraw
        here; if this browser's data is lost, the channels are still on-chain: close and withdraw them from{" "}
        <a href="/channels">Channels</a> with the same wallet.
      </p>
      <Limits />
      <h2>Channels</h2>
      {state.channelsError ? <p className="error">Cannot read the channels: {state.channelsError}</p> : null}
      {state.channels.length === 0 ? (
        <p className="muted" data-testid="no-channels">
          No channel yet: the chat opens one to a paid mailbox the first time it reads from it, or open one
          below.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="cards" data-testid="chat-channels">
            <thead>
              <tr>
                <th>Mailbox</th>
                <th>Deposit</th>
                <th>Spent</th>
                <th>Authorised</th>
                <th>Redeemed on-chain</th>
                <th>Bought here</th>
                <th>State</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {state.channels.map((c) => (
                <ChannelRow key={c.channelId} c={c} name={nameOf(c.payee)} now={now} />
              ))}
              <tr data-testid="payments-total" className="chat-total">
                <td data-label="Mailbox" className="title-cell">
                  Total
                </td>
                <td data-label="Deposit">{formatSnt(total.deposit)}</td>
                <td data-label="Spent" data-testid="total-spent">
                  {formatSnt(total.spent, { digits: 18 })}
                </td>
                <td data-label="Authorised">{formatSnt(total.authorized, { digits: 18 })}</td>
                <td data-label="Redeemed on-chain">{formatSnt(total.paidOnChain, { digits: 18 })}</td>
                <td data-label="Bought here" />
                <td data-label="State" />
                <td data-label="Actions" />
              </tr>
            </tbody>
          </table>
        </div>
      )}
      <OpenChannel />
    </div>
  );
}

/** The spending cap, the deposit of a new channel, and automatic top-ups. */
function Limits() {
  const state = useChat();
  const rt = useRuntime();
  const s = state.settings;
  const [cap, setCap] = useState(
    s.spendingCap === undefined ? "" : formatSnt(s.spendingCap, { unit: false, group: false, digits: 18 }),
  );
  const [deposit, setDeposit] = useState(formatSnt(s.deposit, { unit: false, group: false, digits: 18 }));
  const [auto, setAuto] = useState(s.autoTopUp);
  const [saving, setSaving] = useState(false);
  const cc = cap.trim() === "" ? undefined : checkAmount(cap, { positive: true });
  const cd = checkAmount(deposit, { positive: true });
  const valid = (cc === undefined || cc.ok) && cd.ok;
  const next = {
    spendingCap: cc?.ok ? cc.value : undefined,
    deposit: cd.ok ? cd.value : s.deposit,
    autoTopUp: auto,
  };
  const changed =
    next.spendingCap !== s.spendingCap || next.deposit !== s.deposit || next.autoTopUp !== s.autoTopUp;
  return (
    <form
      className="card row"
      onSubmit={(e) => {
        e.preventDefault();
        if (!valid || !changed) return;
        setSaving(true);
        void rt.setSettings(next).finally(() => setSaving(false));
      }}
    >
      <Field
        label="Spending cap per channel (SNT)"
        name="spendingCap"
        inputMode="decimal"
        value={cap}
        onChange={setCap}
        placeholder="no cap"
        error={cc && !cc.ok ? cc.message : undefined}
        hint="The most one channel may ever authorise; a catch-up that reaches it stops and says so."
      />
      <Field
        label="Deposit of a new channel (SNT)"
        name="deposit"
        inputMode="decimal"
        value={deposit}
        onChange={setDeposit}
        error={cd.ok ? undefined : cd.message}
      />
      <label className="check">
        <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> Top up by that
        deposit when a channel runs out
      </label>
      <button type="submit" className="primary" disabled={!valid || !changed || saving}>
        Save
      </button>
      {s.spendingCap !== undefined ? (
        <p className="muted small" data-testid="spending-cap">
          Cap: {formatSnt(s.spendingCap)} per channel.
        </p>
      ) : null}
    </form>
  );
}

function ChannelRow({ c, name, now }: { c: ChannelView; name: string; now: number | undefined }) {
  const state = useChat();
  const rt = useRuntime();
  const balance = useSntBalance(state.wallet);
  const [topUp, setTopUp] = useState("5");
  const scope = `channel-${c.payee.toLowerCase()}`;
  const status = state.status?.scope === scope ? state.status : undefined;
  const closing = c.state === "closing";
  const due = closing && now !== undefined && now >= Number(c.closesAt);
  const ct = checkAmount(topUp, {
    positive: true,
    ...(balance.data === undefined ? {} : { max: { amount: balance.data, name: "your balance" } }),
  });
  const cap = state.settings.spendingCap;
  return (
    <tr data-testid="channel-row" data-payee={c.payee.toLowerCase()} data-channel={c.channelId}>
      <td data-label="Mailbox" className="title-cell" title={c.channelId}>
        <Link href={`/mailbox/${c.payee.toLowerCase()}`}>{name}</Link>
        <span className="muted small"> {shortAddress(c.channelId)}</span>
      </td>
      <td data-label="Deposit">{formatSnt(c.deposit)}</td>
      <td data-label="Spent" data-testid="channel-spent" data-wei={c.spent.toString()}>
        {formatSnt(c.spent, { digits: 18 })}
      </td>
      <td data-label="Authorised" data-wei={c.authorized.toString()}>
        {formatSnt(c.authorized, { digits: 18 })}
        {cap !== undefined ? <span className="muted small"> of {formatSnt(cap)} cap</span> : null}
      </td>
      <td data-label="Redeemed on-chain" data-testid="channel-redeemed" data-wei={c.paidOnChain.toString()}>
        {formatSnt(c.paidOnChain, { digits: 18 })}
      </td>
      <td
        data-label="Bought here"
        data-testid="channel-bought"
        data-pages={c.bought?.pages ?? 0}
        data-messages={c.bought?.messages ?? 0}
      >
        {c.bought
          ? `${c.bought.pages.toLocaleString("en-US")} page${c.bought.pages === 1 ? "" : "s"}, ${c.bought.messages.toLocaleString("en-US")} messages`
          : "—"}
      </td>
      <td data-label="State" data-testid="channel-state">
        {closing
          ? `closing: withdraw ${now === undefined ? "…" : untilText(Number(c.closesAt), now)}`
          : "open"}
      </td>
      <td data-label="Actions" className="actions">
        {closing ? (
          <button
            type="button"
            className="primary"
            disabled={!due || status?.busy}
            onClick={() => void rt.withdraw(c.payee as Address, (a) => formatSnt(a))}
          >
            Withdraw
          </button>
        ) : (
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              if (ct.ok) void rt.topUp(c.payee as Address, ct.value);
            }}
          >
            <Field
              label="Top-up amount (SNT)"
              name="topUp"
              inputMode="decimal"
              size={6}
              value={topUp}
              onChange={setTopUp}
              error={ct.ok ? undefined : ct.message}
              className="compact"
            />
            <button type="submit" disabled={status?.busy || !ct.ok}>
              Top up
            </button>
            <button
              type="button"
              disabled={status?.busy}
              onClick={() => void rt.closeChannel(c.payee as Address)}
            >
              Close
            </button>
          </form>
        )}
        {status ? (
          <p className={status.error ? "error" : "notice"} role="status" data-testid={`status-${scope}`}>
            {status.text}
          </p>
        ) : null}
      </td>
    </tr>
  );
}

/** Opening a channel to a paid mailbox before the chat needs one. */
function OpenChannel() {
  const state = useChat();
  const rt = useRuntime();
  const balance = useSntBalance(state.wallet);
  const options = state.mailboxes.filter(
    (m) => m.paid && m.operator && !state.channels.some((c) => c.payee.toLowerCase() === m.id),
  );
  const [payee, setPayee] = useState("");
  const [deposit, setDeposit] = useState(
    formatSnt(state.settings.deposit, { unit: false, group: false, digits: 18 }),
  );
  const chosen = options.find((m) => m.id === payee) ?? options[0];
  const cd = checkAmount(deposit, {
    positive: true,
    ...(balance.data === undefined ? {} : { max: { amount: balance.data, name: "your balance" } }),
  });
  const status = state.status?.scope === "open" ? state.status : undefined;
  if (options.length === 0 && !status) return null;
  return (
    <div className="card">
      <h2>Open a channel</h2>
      {options.length > 0 && chosen ? (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (cd.ok) void rt.openChannel(chosen.operator as Address, cd.value);
          }}
        >
          <div className="field">
            <label htmlFor="open-payee">Mailbox</label>
            <select id="open-payee" value={chosen.id} onChange={(e) => setPayee(e.target.value)}>
              {options.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name ?? shortAddress(m.id)} · {formatSnt(pageCost(m.price, PRICE_REFERENCE_PAGE))} per{" "}
                  {PRICE_REFERENCE_PAGE}-message page
                </option>
              ))}
            </select>
          </div>
          <Field
            label="Deposit (SNT)"
            name="openDeposit"
            inputMode="decimal"
            value={deposit}
            onChange={setDeposit}
            error={cd.ok ? undefined : cd.message}
          />
          <button type="submit" className="primary" disabled={status?.busy || !cd.ok}>
            Open
          </button>
        </form>
      ) : null}
      {status ? (
        <p className={status.error ? "error" : "notice"} role="status" data-testid="status-open">
          {status.text}
        </p>
      ) : null}
    </div>
  );
}
