"use client";

import { mailboxRegistryAbi, sntAbi } from "@postbox/contracts";
import { useState } from "react";
import { encodeFunctionData, parseEther } from "viem";
import { useConnection, useReadContract } from "wagmi";
import { useChainTime } from "../../lib/chain-time";
import { settings } from "../../lib/env";
import { countdown, formatSnt } from "../../lib/format";
import { TxStatus, useTransaction } from "../../lib/tx";

const STATUS = ["not registered", "active", "exiting", "jailed"];

export default function OperatePage() {
  const { address } = useConnection();
  const now = useChainTime();
  const { send, status } = useTransaction();
  const entry = useReadContract({
    address: settings.registry,
    abi: mailboxRegistryAbi,
    functionName: "getMailbox",
    args: address ? [address] : undefined,
    query: { enabled: !!address, refetchInterval: 5_000 },
  });
  const minStake = useReadContract({
    address: settings.registry,
    abi: mailboxRegistryAbi,
    functionName: "minStake",
  });
  const [form, setForm] = useState({
    peerId: "",
    multiaddrs: "",
    metadataURI: "",
    stake: "",
    pricePerQuery: "0.01",
    pricePerMessage: "0.0001",
    retentionDays: "30",
    addStake: "",
  });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [k]: e.target.value });

  if (!address) return <p className="notice">Connect a wallet (top right) to operate a mailbox.</p>;
  const m = entry.data;
  if (entry.error)
    return <p className="error">Cannot read the registry: {entry.error.message.split("\n")[0]}</p>;
  if (!m) return <p className="muted">Loading your registry entry…</p>;
  const registered = m.status !== 0;
  const parse = (v: string, what: string) => {
    try {
      return parseEther(v);
    } catch {
      throw new Error(`${what} must be an SNT amount`);
    }
  };

  return (
    <>
      <h1>Operate a mailbox</h1>
      <p>
        Status: <strong data-testid="operator-status">{STATUS[m.status]}</strong>
        {registered ? ` · stake ${formatSnt(m.stake)} SNT` : ""}
      </p>
      <TxStatus status={status} />
      {!registered ? (
        <div className="card">
          <h2>Register</h2>
          <p className="muted">
            One transaction: SNT <code>approveAndCall</code> into the registry with your stake (at least{" "}
            {minStake.data !== undefined ? formatSnt(minStake.data) : "…"} SNT).
          </p>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              const stake = form.stake ? parse(form.stake, "stake") : (minStake.data ?? 0n);
              void send("register", {
                address: settings.snt,
                abi: sntAbi,
                functionName: "approveAndCall",
                args: [
                  settings.registry,
                  stake,
                  encodeFunctionData({
                    abi: mailboxRegistryAbi,
                    functionName: "register",
                    args: [
                      form.peerId.trim(),
                      form.multiaddrs.split(/[\s,]+/).filter(Boolean),
                      form.metadataURI,
                      0n,
                      parse(form.pricePerQuery, "price per query"),
                      parse(form.pricePerMessage, "price per message"),
                      BigInt(Math.round(Number(form.retentionDays) * 86_400)),
                    ],
                  }),
                ],
              });
            }}
          >
            <label>
              Peer id
              <input
                required
                name="peerId"
                value={form.peerId}
                onChange={set("peerId")}
                placeholder="12D3KooW…"
              />
            </label>
            <label>
              Multiaddrs (space separated)
              <input
                required
                name="multiaddrs"
                value={form.multiaddrs}
                onChange={set("multiaddrs")}
                placeholder="/ip4/…/tcp/…"
              />
            </label>
            <label>
              Stake (SNT)
              <input name="stake" value={form.stake} onChange={set("stake")} placeholder="minimum" />
            </label>
            <label>
              Price per query (SNT)
              <input name="pricePerQuery" value={form.pricePerQuery} onChange={set("pricePerQuery")} />
            </label>
            <label>
              Price per message (SNT)
              <input name="pricePerMessage" value={form.pricePerMessage} onChange={set("pricePerMessage")} />
            </label>
            <label>
              Retention (days)
              <input name="retentionDays" value={form.retentionDays} onChange={set("retentionDays")} />
            </label>
            <button className="primary" type="submit" disabled={status.busy}>
              Register
            </button>
          </form>
        </div>
      ) : (
        <div className="grid">
          <div className="card">
            <h2>Prices</h2>
            <p>
              Now: {formatSnt(m.pricePerQuery)} SNT per query + {formatSnt(m.pricePerMessage)} SNT per message
            </p>
            {m.priceEffectiveAt !== 0n ? (
              <p className="fair" data-testid="price-countdown">
                Announced: {formatSnt(m.pendingPricePerQuery)} + {formatSnt(m.pendingPricePerMessage)},
                applies {now === undefined ? "…" : countdown(Number(m.priceEffectiveAt), now)}
              </p>
            ) : null}
            <form
              className="row"
              onSubmit={(e) => {
                e.preventDefault();
                void send("announce price", {
                  address: settings.registry,
                  abi: mailboxRegistryAbi,
                  functionName: "announcePrice",
                  args: [
                    parse(form.pricePerQuery, "price per query"),
                    parse(form.pricePerMessage, "price per message"),
                  ],
                });
              }}
            >
              <label>
                Per query
                <input name="newPricePerQuery" value={form.pricePerQuery} onChange={set("pricePerQuery")} />
              </label>
              <label>
                Per message
                <input
                  name="newPricePerMessage"
                  value={form.pricePerMessage}
                  onChange={set("pricePerMessage")}
                />
              </label>
              <button className="primary" type="submit" disabled={status.busy || m.status !== 1}>
                Announce price
              </button>
            </form>
            <p className="muted">Increases apply after the registry's delay; decreases at once.</p>
          </div>
          <div className="card">
            <h2>Stake</h2>
            <form
              className="row"
              onSubmit={(e) => {
                e.preventDefault();
                void send("add stake", {
                  address: settings.snt,
                  abi: sntAbi,
                  functionName: "approveAndCall",
                  args: [
                    settings.registry,
                    parse(form.addStake, "stake"),
                    encodeFunctionData({
                      abi: mailboxRegistryAbi,
                      functionName: "addStake",
                      args: [address, 0n],
                    }),
                  ],
                });
              }}
            >
              <label>
                Add (SNT)
                <input name="addStake" value={form.addStake} onChange={set("addStake")} />
              </label>
              <button className="primary" type="submit" disabled={status.busy || m.status === 2}>
                Add stake
              </button>
            </form>
          </div>
          <div className="card">
            <h2>Endpoint</h2>
            <p className="muted">{m.multiaddrs.join(" · ")}</p>
            <form
              className="row"
              onSubmit={(e) => {
                e.preventDefault();
                void send("update endpoint", {
                  address: settings.registry,
                  abi: mailboxRegistryAbi,
                  functionName: "updateEndpoint",
                  args: [
                    form.peerId || m.peerId,
                    form.multiaddrs ? form.multiaddrs.split(/[\s,]+/).filter(Boolean) : [...m.multiaddrs],
                    form.metadataURI || m.metadataURI,
                  ],
                });
              }}
            >
              <label>
                Multiaddrs
                <input
                  name="newMultiaddrs"
                  value={form.multiaddrs}
                  onChange={set("multiaddrs")}
                  placeholder={m.multiaddrs.join(" ")}
                />
              </label>
              <button type="submit" disabled={status.busy}>
                Update endpoint
              </button>
            </form>
          </div>
          <div className="card">
            <h2>Exit</h2>
            {m.status === 2 ? (
              <>
                <p data-testid="withdraw-countdown">
                  Stake withdrawable {now === undefined ? "…" : countdown(Number(m.withdrawableAt), now)}
                </p>
                <button
                  type="button"
                  className="primary"
                  disabled={status.busy || now === undefined || now < Number(m.withdrawableAt)}
                  onClick={() =>
                    void send("withdraw stake", {
                      address: settings.registry,
                      abi: mailboxRegistryAbi,
                      functionName: "withdrawStake",
                    })
                  }
                >
                  Withdraw stake
                </button>
              </>
            ) : (
              <button
                type="button"
                disabled={status.busy}
                onClick={() =>
                  void send("request exit", {
                    address: settings.registry,
                    abi: mailboxRegistryAbi,
                    functionName: "requestExit",
                  })
                }
              >
                Request exit
              </button>
            )}
          </div>
        </div>
      )}
    </>
  );
}
