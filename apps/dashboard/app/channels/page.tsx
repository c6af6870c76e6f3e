"use client";

import {
  cancelCloseRequest,
  openChannelRequest,
  paymentChannelsAbi,
  requestCloseRequest,
  topUpChannelRequest,
  withdrawChannelRequest,
} from "@postbox/contracts";
import { formatSnt, PRICE_REFERENCE_LABEL } from "@postbox/protocol";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";
import { type Address, type Hex, keccak256, toHex } from "viem";
import { useConnection, usePublicClient } from "wagmi";
import { Field } from "../../components/Field";
import { checkAddress, checkAmount } from "../../lib/amount";
import { useSntBalance } from "../../lib/chain";
import { useChainTime } from "../../lib/chain-time";
import { settings } from "../../lib/env";
import { scoreLabel } from "../../lib/figures";
import { countdown, shortAddress } from "../../lib/format";
import { exact, referencePagePrice } from "../../lib/mailboxes";
import { metadataOf, useMailboxes } from "../../lib/prober";
import { TxStatus, useTransaction } from "../../lib/tx";

type Tx = ReturnType<typeof useTransaction>;

/** The connected wallet's channels, from ChannelOpened events, with their on-chain state. */
function useMyChannels(payer: Address | undefined) {
  const client = usePublicClient();
  return useQuery({
    queryKey: ["channels", payer],
    enabled: !!client && !!payer,
    refetchInterval: 5_000,
    queryFn: async () => {
      const opened = await client!.getContractEvents({
        address: settings.channels,
        abi: paymentChannelsAbi,
        eventName: "ChannelOpened",
        args: { payer },
        fromBlock: settings.fromBlock,
        toBlock: "latest",
      });
      const list = await Promise.all(
        opened.map(async (l) => ({
          id: l.args.channelId as Hex,
          state: await client!.readContract({
            address: settings.channels,
            abi: paymentChannelsAbi,
            functionName: "getChannel",
            args: [l.args.channelId as Hex],
          }),
        })),
      );
      // Open channels first, newest first.
      return list.reverse().sort((a, b) => Number(a.state.finalised) - Number(b.state.finalised));
    },
  });
}

export default function ChannelsPage() {
  const { address } = useConnection();
  const now = useChainTime();
  const tx = useTransaction();
  const channels = useMyChannels(address);
  const balance = useSntBalance(address);

  if (!address) return <p className="notice">Connect a wallet (top right) to open and manage channels.</p>;

  return (
    <>
      <h1>Payment channels</h1>
      <p>
        Wallet:{" "}
        <strong data-testid="balance">{balance.data === undefined ? "…" : formatSnt(balance.data)}</strong>
      </p>
      <p className="muted">
        A channel holds SNT for one mailbox; each page of history is paid with an off-chain voucher signed by
        the channel's signer (your wallet, or a session key your chat app keeps), and the mailbox redeems
        them.
      </p>
      {/* The payee can come from the URL (?payee=0x…: "Open a channel to this mailbox"). */}
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <OpenChannel tx={tx} address={address} balance={balance.data} />
      </Suspense>
      <h2>Your channels</h2>
      {channels.error ? (
        <p className="error">Cannot read channels: {channels.error.message.split("\n")[0]}</p>
      ) : !channels.data ? (
        <p className="muted">Loading…</p>
      ) : channels.data.length === 0 ? (
        <p className="notice">No channel yet.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="channels" className="cards">
            <thead>
              <tr>
                <th>Channel</th>
                <th>Mailbox</th>
                <th>Paid / deposit</th>
                <th>State</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {channels.data.map(({ id, state }) => (
                <ChannelRow key={id} id={id} c={state} now={now} tx={tx} balance={balance.data} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function OpenChannel({ tx, address, balance }: { tx: Tx; address: Address; balance: bigint | undefined }) {
  const mailboxes = useMailboxes();
  const params = useSearchParams();
  const [payee, setPayee] = useState(() => params.get("payee")?.toLowerCase() ?? "");
  const [deposit, setDeposit] = useState("10");
  const [signer, setSigner] = useState("");
  const active = (mailboxes.data?.mailboxes ?? []).filter((m) => m.status === 1);
  const chosen = active.find((m) => m.address === payee);
  const cd = checkAmount(deposit, {
    positive: true,
    ...(balance === undefined ? {} : { max: { amount: balance, name: "your balance" } }),
  });
  const cs = checkAddress(signer, address);
  const own = payee !== "" && payee === address.toLowerCase();
  const unknownPayee = payee !== "" && mailboxes.data !== undefined && !chosen;
  const payeeError = own
    ? "This is your own mailbox: a channel pays someone else."
    : unknownPayee
      ? `${shortAddress(payee)} is not an active mailbox.`
      : undefined;
  const valid = cd.ok && cs.ok && !!chosen && !own;
  return (
    <div className="card">
      <h2>Open a channel</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!cd.ok || !cs.ok || !chosen) return;
          const salt = keccak256(toHex(`${Date.now()}:${Math.random()}`));
          void tx.send(
            "open",
            "Open channel",
            openChannelRequest({
              ...settings,
              payee: chosen.address as Address,
              signer: cs.value,
              deposit: cd.value,
              salt,
            }),
            { snt: cd.value, spender: settings.channels },
          );
        }}
      >
        <div className="field">
          <label htmlFor="payee">Mailbox</label>
          <select
            id="payee"
            name="payee"
            required
            value={chosen || !payee ? payee : ""}
            onChange={(e) => setPayee(e.target.value)}
            aria-invalid={payeeError ? true : undefined}
            aria-describedby={payeeError ? "payee-note" : undefined}
          >
            <option value="" disabled>
              choose…
            </option>
            {active.map((m) => (
              <option key={m.address} value={m.address}>
                {metadataOf(m)?.name ?? shortAddress(m.address)} · {formatSnt(referencePagePrice(m), exact)}{" "}
                {PRICE_REFERENCE_LABEL} · score {scoreLabel(m).text}
              </option>
            ))}
          </select>
          {payeeError ? (
            <span id="payee-note" className="field-error" data-testid="field-error">
              {payeeError}
            </span>
          ) : null}
        </div>
        <Field
          label="Deposit (SNT)"
          name="deposit"
          inputMode="decimal"
          value={deposit}
          onChange={setDeposit}
          error={cd.ok ? undefined : cd.message}
        />
        <Field
          label="Signer (empty: this wallet)"
          name="signer"
          value={signer}
          onChange={setSigner}
          placeholder="0x… session key"
          error={cs.ok ? undefined : cs.message}
        />
        <button className="primary" type="submit" disabled={tx.status.busy || !valid}>
          Open
        </button>
      </form>
      {chosen ? (
        <p className="muted small">
          Paying <Link href={`/mailbox/${chosen.address}`}>{metadataOf(chosen)?.name ?? chosen.address}</Link>
          : {formatSnt(referencePagePrice(chosen), exact)} {PRICE_REFERENCE_LABEL}
          {cd.ok && referencePagePrice(chosen) > 0n
            ? `; ${formatSnt(cd.value, { unit: false })} SNT buys about ${(cd.value / referencePagePrice(chosen)).toLocaleString("en-US")} full pages.`
            : "."}
        </p>
      ) : null}
      <TxStatus status={tx.status} scope="open" />
    </div>
  );
}

function ChannelRow({
  id,
  c,
  now,
  tx,
  balance,
}: {
  id: Hex;
  c: {
    payee: Address;
    paid: bigint;
    deposit: bigint;
    closesAt: bigint;
    finalised: boolean;
    /** The payer cancelled a close once: a channel's close can be cancelled only once. */
    closeCancelled: boolean;
  };
  now: number | undefined;
  tx: Tx;
  balance: bigint | undefined;
}) {
  const [topUp, setTopUp] = useState("5");
  const scope = `channel-${id}`;
  const closing = c.closesAt !== 0n;
  const due = closing && now !== undefined && now >= Number(c.closesAt);
  const ct = checkAmount(topUp, {
    positive: true,
    ...(balance === undefined ? {} : { max: { amount: balance, name: "your balance" } }),
  });
  return (
    <tr data-channel={id}>
      <td data-label="Channel" title={id} className="title-cell">
        {shortAddress(id)}
      </td>
      <td data-label="Mailbox" title={c.payee}>
        <Link href={`/mailbox/${c.payee.toLowerCase()}`}>{shortAddress(c.payee)}</Link>
      </td>
      <td data-label="Paid / deposit">
        {formatSnt(c.paid, { unit: false })} / {formatSnt(c.deposit)}
      </td>
      <td data-label="State" data-testid="channel-state">
        {c.finalised
          ? "closed"
          : closing
            ? `closing: withdraw ${now === undefined ? "…" : countdown(Number(c.closesAt), now)}`
            : "open"}
      </td>
      <td data-label="Actions" className="actions">
        {c.finalised ? null : closing ? (
          <div className="row">
            <button
              type="button"
              className="primary"
              disabled={!due || tx.status.busy}
              onClick={() =>
                void tx.send(
                  scope,
                  "Withdraw",
                  withdrawChannelRequest({ channels: settings.channels, channelId: id }),
                )
              }
            >
              Withdraw
            </button>
            {c.closeCancelled ? null : (
              <button
                type="button"
                disabled={tx.status.busy}
                onClick={() =>
                  void tx.send(
                    scope,
                    "Cancel close",
                    cancelCloseRequest({ channels: settings.channels, channelId: id }),
                  )
                }
              >
                Keep open
              </button>
            )}
          </div>
        ) : (
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              if (!ct.ok) return;
              void tx.send(
                scope,
                "Top up",
                topUpChannelRequest({ ...settings, channelId: id, amount: ct.value }),
                { snt: ct.value, spender: settings.channels },
              );
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
            <button type="submit" disabled={tx.status.busy || !ct.ok}>
              Top up
            </button>
            <button
              type="button"
              disabled={tx.status.busy}
              aria-describedby={c.closeCancelled ? `close-once-${id}` : undefined}
              onClick={() =>
                void tx.send(scope, "Close", requestCloseRequest({ ...settings, channelId: id }))
              }
            >
              Close
            </button>
          </form>
        )}
        {c.closeCancelled && !c.finalised ? (
          <p
            id={`close-once-${id}`}
            className="muted small"
            data-testid="close-once"
            // Table cells do not wrap; this sentence should, beside the buttons.
            style={{ whiteSpace: "normal", maxWidth: "28em" }}
          >
            {closing
              ? "This close is final: a channel's close can be cancelled once, and this one's was."
              : "Closing again is final: a channel's close can be cancelled once, and this one's was."}
          </p>
        ) : null}
        <TxStatus status={tx.status} scope={scope} />
      </td>
    </tr>
  );
}
