"use client";

import { paymentChannelsAbi, sntAbi } from "@postbox/contracts";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { type Address, encodeFunctionData, type Hex, keccak256, parseEther, toHex } from "viem";
import { useConnection, usePublicClient } from "wagmi";
import { useChainTime } from "../../lib/chain-time";
import { settings } from "../../lib/env";
import { countdown, formatPct, formatSnt, shortAddress } from "../../lib/format";
import { useMailboxes } from "../../lib/prober";
import { TxStatus, useTransaction } from "../../lib/tx";

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
      return Promise.all(
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
    },
  });
}

export default function ChannelsPage() {
  const { address } = useConnection();
  const now = useChainTime();
  const { send, status } = useTransaction();
  const mailboxes = useMailboxes();
  const channels = useMyChannels(address);
  const [payee, setPayee] = useState("");
  const [deposit, setDeposit] = useState("10");
  const [signer, setSigner] = useState("");
  const [topUp, setTopUp] = useState("5");

  if (!address) return <p className="notice">Connect a wallet (top right) to open and manage channels.</p>;
  const active = (mailboxes.data?.mailboxes ?? []).filter((m) => m.status === 1);

  return (
    <>
      <h1>Payment channels</h1>
      <p className="muted">
        A channel holds SNT for one mailbox; each page of history is paid with an off-chain voucher signed by
        the channel's signer (your wallet, or a session key your chat app keeps), and the mailbox redeems
        them.
      </p>
      <TxStatus status={status} />
      <div className="card">
        <h2>Open a channel</h2>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            let amount: bigint;
            try {
              amount = parseEther(deposit);
            } catch {
              return;
            }
            const salt = keccak256(toHex(`${Date.now()}:${Math.random()}`));
            const signerAddress = (signer.trim() || address) as Address;
            void send("open channel", {
              address: settings.snt,
              abi: sntAbi,
              functionName: "approveAndCall",
              args: [
                settings.channels,
                amount,
                encodeFunctionData({
                  abi: paymentChannelsAbi,
                  functionName: "open",
                  args: [payee as Address, signerAddress, 0n, salt],
                }),
              ],
            });
          }}
        >
          <label>
            Mailbox
            <select name="payee" required value={payee} onChange={(e) => setPayee(e.target.value)}>
              <option value="" disabled>
                choose…
              </option>
              {active.map((m) => (
                <option key={m.address} value={m.address}>
                  {shortAddress(m.address)} · score {m.score.toFixed(3)} · up {formatPct(m.uptime24h)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Deposit (SNT)
            <input name="deposit" value={deposit} onChange={(e) => setDeposit(e.target.value)} />
          </label>
          <label>
            Signer (empty: this wallet)
            <input
              name="signer"
              value={signer}
              onChange={(e) => setSigner(e.target.value)}
              placeholder="0x… session key"
            />
          </label>
          <button className="primary" type="submit" disabled={status.busy || !payee}>
            Open
          </button>
        </form>
      </div>
      <h2>Your channels</h2>
      {channels.error ? (
        <p className="error">Cannot read channels: {channels.error.message.split("\n")[0]}</p>
      ) : !channels.data ? (
        <p className="muted">Loading…</p>
      ) : channels.data.length === 0 ? (
        <p className="notice">No channel yet.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="channels">
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
              {channels.data.map(({ id, state: c }) => {
                const closing = c.closesAt !== 0n;
                const due = closing && now !== undefined && now >= Number(c.closesAt);
                return (
                  <tr key={id} data-channel={id}>
                    <td title={id}>{shortAddress(id)}</td>
                    <td title={c.payee}>{shortAddress(c.payee)}</td>
                    <td>
                      {formatSnt(c.paid)} / {formatSnt(c.deposit)} SNT
                    </td>
                    <td data-testid="channel-state">
                      {c.finalised
                        ? "closed"
                        : closing
                          ? `closing: withdraw ${now === undefined ? "…" : countdown(Number(c.closesAt), now)}`
                          : "open"}
                    </td>
                    <td>
                      {c.finalised ? null : closing ? (
                        <button
                          type="button"
                          disabled={!due || status.busy}
                          onClick={() =>
                            void send("withdraw", {
                              address: settings.channels,
                              abi: paymentChannelsAbi,
                              functionName: "withdraw",
                              args: [id],
                            })
                          }
                        >
                          Withdraw
                        </button>
                      ) : (
                        <>
                          <input
                            aria-label="Top-up amount"
                            size={5}
                            value={topUp}
                            onChange={(e) => setTopUp(e.target.value)}
                          />{" "}
                          <button
                            type="button"
                            disabled={status.busy}
                            onClick={() =>
                              void send("top up", {
                                address: settings.snt,
                                abi: sntAbi,
                                functionName: "approveAndCall",
                                args: [
                                  settings.channels,
                                  parseEther(topUp || "0"),
                                  encodeFunctionData({
                                    abi: paymentChannelsAbi,
                                    functionName: "topUp",
                                    args: [id, 0n],
                                  }),
                                ],
                              })
                            }
                          >
                            Top up
                          </button>{" "}
                          <button
                            type="button"
                            disabled={status.busy}
                            onClick={() =>
                              void send("request close", {
                                address: settings.channels,
                                abi: paymentChannelsAbi,
                                functionName: "requestClose",
                                args: [id],
                              })
                            }
                          >
                            Close
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
