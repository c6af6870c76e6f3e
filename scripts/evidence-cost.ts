// The mailbox CPU that EIP-712 evidence adds per history page and per receipt (issue #20): the
// EvidenceSigner a mailbox with a chain uses (keccak256 digests, libsecp256k1), timed in this
// process beside the libp2p-key (Ed25519) commitment every page already gets. Rounds alternate
// between the two; each round signs `N` pages; the figures are CPU time (process.cpuUsage) per
// signature, min/median/max over the rounds.
//
//   node scripts/evidence-cost.ts [--rounds 7] [--n 3000] [--ids 100]

import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createSigner, EvidenceSigner } from "@postbox/node";
import { commitmentSigningBytes, committedSpan, type StoreQuery } from "@postbox/protocol";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

const { values } = parseArgs({
  options: { rounds: { type: "string" }, n: { type: "string" }, ids: { type: "string" } },
});
const ROUNDS = Number(values.rounds ?? 7);
const N = Number(values.n ?? 3000);
const IDS = Number(values.ids ?? 100);

const signer = new EvidenceSigner({
  privateKey: generatePrivateKey(),
  operator: privateKeyToAccount(generatePrivateKey()).address,
  domain: { chainId: 31337, verifyingContract: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" },
});
const ed = createSigner(await generateKeyPair("Ed25519"));
const ids = Array.from({ length: IDS }, () => crypto.getRandomValues(new Uint8Array(32)));
const query: StoreQuery = {
  requestId: "bench",
  contentTopics: ["/postbox/1/inbox-123/proto"],
  ids: [],
  includeData: true,
  forward: true,
  pageSize: IDS,
  cursor: ids[0]!,
};

/** CPU µs per call of `f`, over N calls. */
async function cpuPer(f: () => unknown): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) await f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / N;
}

const page = () => {
  const span = committedSpan(query, {
    cursorTimestamp: 1_700_000_000_000n,
    lastTimestamp: 1_700_000_100_000n,
    more: true,
  });
  return signer.page({
    contentTopics: query.contentTopics,
    ...span,
    ids,
    nextCursor: ids.at(-1),
    servedAt: BigInt(Date.now()),
  });
};
const receipt = () =>
  signer.receipt({
    envelopeId: ids[0]!,
    contentTopic: query.contentTopics[0]!,
    timestamp: 1_700_000_000_000n,
    storedAt: 1_700_000_000_005n,
    retainUntil: 1_702_592_000_000n,
  });
const libp2pPage = () => ed(commitmentSigningBytes(query, ids, ids.at(-1)));

// Warm up (JIT, the native binding).
for (const f of [page, receipt, libp2pPage]) await cpuPer(f);
const results: Record<string, number[]> = { evidencePage: [], evidenceReceipt: [], libp2pPage: [] };
for (let r = 0; r < ROUNDS; r++) {
  results.libp2pPage!.push(await cpuPer(libp2pPage));
  results.evidencePage!.push(await cpuPer(page));
  results.evidenceReceipt!.push(await cpuPer(receipt));
}
const mmm = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    min: +s[0]!.toFixed(1),
    median: +s[Math.floor(s.length / 2)]!.toFixed(1),
    max: +s.at(-1)!.toFixed(1),
  };
};
console.log(
  JSON.stringify(
    {
      machine: `${cpus().length} × ${cpus()[0]?.model}`,
      load: loadavg().map((l) => +l.toFixed(2)),
      secp256k1: signer.backend,
      idsPerPage: IDS,
      rounds: ROUNDS,
      perRound: N,
      cpuMicrosPerSignature: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, mmm(v)])),
    },
    null,
    2,
  ),
);
