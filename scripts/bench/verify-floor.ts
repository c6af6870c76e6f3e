// `node scripts/bench/verify-floor.ts [--json] [--messages N]` (and the `client` benchmark, which
// runs it): the floor under a catch-up's time — how long this machine takes to check the signatures
// of N room messages (default 10,000) alone, on every core. The messages are format v2, made as the
// Node client makes them: two senders, each an identity with one Ed25519 device key
// (`ed25519.generate()` of the Node platform, WebCrypto) certified for 90 days
// (`signDeviceCertificate`), the device key signing each message's `chatSigningBytesV2` bytes for
// `#x` (checked against `sealRoomV2`'s message id), the texts `message S-I`, alternating senders.
// Timed: one worker thread per core (`verify-floor.worker.ts` behind the typed pool), each given a
// contiguous share of the messages (signature and signed bytes, moved, not copied), checks each
// device's certificate once (libsecp256k1, as the client's page openers do), imports each device
// key once and verifies its messages' Ed25519 signatures (OpenSSL through node:crypto: the Node
// client's backend). No network, decryption, decoding or storage. The clock runs from handing out
// the jobs until every worker has answered; the workers are started and warmed up before it. The
// same jobs on the calling thread alone alternate with them. Best (min) of 5 rounds each.

import { availableParallelism, loadavg } from "node:os";
import { defaultPlatform, type PlatformCrypto } from "@postbox/client";
import { threadPool } from "@postbox/net/worker";
import {
  bytesEqual,
  certificateDigest,
  chatSigningBytesV2,
  createIdentity,
  deviceCertificateValidity,
  MessageKind,
  MessageType,
  messageIdOf,
  normaliseRoomName,
  roomTopic,
  sealRoomV2,
  signDeviceCertificate,
  verifyDeviceCertificate,
  type WireCertificate,
} from "@postbox/protocol";
import { inlinePool, type JobHandler, type WorkerPool } from "@postbox/protocol/pool";

const ROOM = "#x";
const ROUNDS = 5;
const SIGNATURE_BYTES = 64;

/** One worker's share: the senders' certificates, and its messages packed into one buffer. */
export interface VerifyJob {
  devices: { sender: Uint8Array; certificate: WireCertificate }[];
  /** Per message: its device (index into `devices`), and where its 64-byte signature and signed bytes are. */
  index: ArrayBuffer;
  /** Per message: the signature, then the signed bytes. */
  bytes: ArrayBuffer;
}

export interface VerifyJobResult {
  /** Messages whose signature verified. */
  verified: number;
  /** Certificates checked (one per device per job). */
  certificates: number;
}

export interface VerifyFloorResult {
  /** Best of the rounds: N signatures checked on one worker thread per core. */
  verifyFloorMs: number;
  verifyFloorRunsMs: number[];
  /** The same jobs on the calling thread alone, alternating with the rounds above. */
  verifyFloorOneThreadMs: number;
  verifyFloorOneThreadRunsMs: number[];
  verifyFloorMessages: number;
  verifyFloorDevices: number;
  verifyFloorWorkers: number;
  /** What was measured, in a sentence. */
  verifyFloorMeasured: string;
}

/**
 * The job a worker runs: each device's certificate checked and its key imported once, then every
 * message's signature. Throws when a certificate does not verify.
 */
export function verifyHandler(crypto: PlatformCrypto): JobHandler<VerifyJob, VerifyJobResult> {
  return async (job) => {
    const verifiers = await Promise.all(
      job.devices.map((d) =>
        crypto.ed25519.verifier(
          verifyDeviceCertificate(d.sender, d.certificate, crypto.secp256k1Verify).deviceKey,
        ),
      ),
    );
    const index = new Uint32Array(job.index);
    const bytes = new Uint8Array(job.bytes);
    let verified = 0;
    for (let i = 0; i < index.length; i += 3) {
      const at = index[i + 1]!;
      const signature = bytes.subarray(at, at + SIGNATURE_BYTES);
      const signed = bytes.subarray(at + SIGNATURE_BYTES, at + index[i + 2]!);
      const ok = verifiers[index[i]!]!(signed, signature);
      if (ok === true || (ok !== false && (await ok))) verified++;
    }
    return { result: { verified, certificates: job.devices.length } };
  };
}

interface Signed {
  device: number;
  /** The signature, then the signed bytes. */
  bytes: Uint8Array;
}

/** N v2 room messages signed as the Node client signs them, two senders alternating. */
async function signMessages(
  crypto: PlatformCrypto,
  n: number,
): Promise<{ devices: VerifyJob["devices"]; messages: Signed[] }> {
  const conversation = normaliseRoomName(ROOM);
  const contentTopic = roomTopic(conversation);
  const now = BigInt(Date.now());
  const senders = await Promise.all(
    [0, 1].map(async () => {
      const identity = createIdentity();
      const device = await crypto.ed25519.generate();
      const certificate = signDeviceCertificate(identity, device.publicKey, deviceCertificateValidity(now));
      return {
        identity,
        device,
        certificate,
        certDigest: certificateDigest(identity.publicKey, certificate),
      };
    }),
  );
  const messages: Signed[] = [];
  for (let k = 0; k < n; k++) {
    const s = k % 2;
    const { identity, device, certDigest } = senders[s]!;
    const text = `message ${s}-${k >> 1}`;
    const timestamp = now + BigInt(k);
    const signed = chatSigningBytesV2(
      {
        kind: MessageKind.Room,
        type: MessageType.Text,
        sender: identity.publicKey,
        certDigest,
        recipient: new Uint8Array(0),
        conversation,
        timestamp,
        text,
        acks: [],
      },
      contentTopic,
    );
    if (k < 2) {
      // The bytes the client itself signs: sealRoomV2's message id is their hash.
      const sealed = await sealRoomV2(senders[s]!, ROOM, { type: "text", text }, timestamp);
      if (!bytesEqual(sealed.messageId, messageIdOf(signed)))
        throw new Error("the floor's signed bytes are not the ones sealRoomV2 signs");
    }
    const signature = await device.sign(signed);
    const bytes = new Uint8Array(SIGNATURE_BYTES + signed.length);
    bytes.set(signature);
    bytes.set(signed, SIGNATURE_BYTES);
    messages.push({ device: s, bytes });
  }
  return {
    devices: senders.map((s) => ({ sender: s.identity.publicKey, certificate: s.certificate })),
    messages,
  };
}

/** The messages split into `parts` contiguous jobs, each in fresh buffers to move to a worker. */
function pack(devices: VerifyJob["devices"], messages: Signed[], parts: number): VerifyJob[] {
  const jobs: VerifyJob[] = [];
  for (let p = 0; p < parts; p++) {
    const share = messages.slice(
      Math.floor((p * messages.length) / parts),
      Math.floor(((p + 1) * messages.length) / parts),
    );
    const index = new Uint32Array(share.length * 3);
    const bytes = new Uint8Array(share.reduce((a, m) => a + m.bytes.length, 0));
    let at = 0;
    share.forEach((m, i) => {
      index.set([m.device, at, m.bytes.length], i * 3);
      bytes.set(m.bytes, at);
      at += m.bytes.length;
    });
    jobs.push({ devices, index: index.buffer, bytes: bytes.buffer });
  }
  return jobs;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runVerifyFloor(
  options: { messages?: number; progress?: (line: string) => void } = {},
): Promise<VerifyFloorResult> {
  const N = options.messages ?? 10_000;
  const progress = options.progress ?? ((s: string) => process.stderr.write(`bench verify-floor: ${s}\n`));
  const crypto = defaultPlatform().crypto;
  const cores = availableParallelism();
  const { devices, messages } = await signMessages(crypto, N);
  progress(`${N} v2 messages from ${devices.length} sender devices signed; ${cores} worker threads`);
  const workers = threadPool<VerifyJob, VerifyJobResult>(import.meta.url, "verify-floor", {
    size: cores,
    name: "postbox verify floor",
  });
  const oneThread = inlinePool(verifyHandler(crypto));
  try {
    const check = async (pool: WorkerPool<VerifyJob, VerifyJobResult>, parts: number) => {
      const jobs = pack(devices, messages, parts);
      const start = performance.now();
      const results = await Promise.all(jobs.map((j) => pool.run(j, [j.index, j.bytes])));
      const ms = performance.now() - start;
      const verified = results.reduce((a, r) => a + r.verified, 0);
      if (verified !== N) throw new Error(`${verified} of ${N} signatures verified`);
      return ms;
    };
    // Warm-up: modules loaded, code compiled, in every worker and here.
    await check(workers, cores);
    await check(oneThread, cores);
    // A forged signature is refused (the count above means something).
    const forged = pack(devices, messages.slice(0, 2), 1)[0]!;
    const first = new Uint8Array(forged.bytes);
    first[5] = first[5]! ^ 1; // the first message's signature
    const { verified } = await workers.run(forged, [forged.index, forged.bytes]);
    if (verified !== 1) throw new Error(`a forged signature was not refused (${verified} of 2 verified)`);
    const runs: number[] = [];
    const oneThreadRuns: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const before = load();
      runs.push(await check(workers, cores));
      oneThreadRuns.push(await check(oneThread, cores));
      progress(
        `round ${r + 1}: ${N} signatures in ${runs.at(-1)!.toFixed(0)} ms on ${cores} threads, ` +
          `${oneThreadRuns.at(-1)!.toFixed(0)} ms on one; load before ${before}`,
      );
    }
    const ms = (xs: number[]) =>
      `${Math.min(...xs).toFixed(0)} / ${median(xs).toFixed(0)} / ${Math.max(...xs).toFixed(0)} ms`;
    progress(`min / median / max: ${ms(runs)} on ${cores} threads, ${ms(oneThreadRuns)} on one`);
    return {
      verifyFloorMs: Math.round(Math.min(...runs)),
      verifyFloorRunsMs: runs.map(Math.round),
      verifyFloorOneThreadMs: Math.round(Math.min(...oneThreadRuns)),
      verifyFloorOneThreadRunsMs: oneThreadRuns.map(Math.round),
      verifyFloorMessages: N,
      verifyFloorDevices: devices.length,
      verifyFloorWorkers: cores,
      verifyFloorMeasured:
        `${N} v2 room messages' Ed25519 signatures (${crypto.backends.ed25519}) and their ${devices.length} ` +
        `device certificates (${crypto.backends.secp256k1}, once per device per thread) on ${cores} worker ` +
        `threads (${cores} cores); no network, decryption or storage`,
    };
  } finally {
    await workers.close();
  }
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf("--messages");
  const N = at >= 0 ? Number(argv[at + 1]) : 10_000;
  if (!Number.isInteger(N) || N < 2) throw new Error("--messages takes a count of at least 2");
  const result = await runVerifyFloor({ messages: N });
  if (argv.includes("--json")) console.log(JSON.stringify(result));
  else console.log(result);
}
