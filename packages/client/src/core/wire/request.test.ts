// requestOnSession on real libp2p hosts over TCP: a kept stream that fails under a request.
import { pbStream } from "@libp2p/utils";
import { InfoRequest, InfoResponse } from "@postbox/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MailboxUnreachableError } from "../../errors.js";
import { nodePlatform } from "../../platform/node/index.js";
import { type ClientHost, type CreateClientHostOptions, createHost } from "../host.js";
import { requestOnSession } from "./request.js";

const createClientHost = (options?: CreateClientHostOptions) => createHost(nodePlatform(), options);

const PROTOCOL = "/postbox-test/sessions/1";
const codecs = { request: InfoRequest, response: InfoResponse };

describe("requestOnSession", () => {
  let server: ClientHost;
  let client: ClientHost;
  let streams = 0;

  beforeAll(async () => {
    server = await createClientHost({ listen: ["/ip4/127.0.0.1/tcp/0"] });
    client = await createClientHost();
    await Promise.all([server.start(), client.start()]);
    // Answers the first request on a stream; on the second it resets the stream without answering
    // (what a client sees when a kept stream dies under its request).
    await server.handle(PROTOCOL, async (stream) => {
      streams++;
      const pb = pbStream(stream);
      await pb.read(InfoRequest);
      await pb.write({ ...InfoResponse.decode(new Uint8Array(0)), peerId: `s${streams}` }, InfoResponse);
      await pb.read(InfoRequest).catch(() => undefined);
      stream.abort(new Error("gone"));
    });
  });

  afterAll(async () => {
    await Promise.all([client?.stop(), server?.stop()]);
  });

  it("reuses a kept stream, and resends an unpaid request once, on a fresh stream, when it dies", async () => {
    const to = server.getMultiaddrs();
    expect((await requestOnSession(client, to, PROTOCOL, {}, codecs)).peerId).toBe("s1");
    // The kept stream takes the request and dies without answering: resent on stream 2.
    expect((await requestOnSession(client, to, PROTOCOL, {}, codecs, { retry: true })).peerId).toBe("s2");
    expect(streams).toBe(2);
  });

  it("does not resend a request that may have been taken (retry off): it fails", async () => {
    const to = server.getMultiaddrs();
    const before = streams;
    // The stream kept from the test before dies under this one; it is resent on a fresh stream, kept.
    expect((await requestOnSession(client, to, PROTOCOL, {}, codecs, { retry: true })).peerId).toBe(
      `s${before + 1}`,
    );
    await expect(requestOnSession(client, to, PROTOCOL, {}, codecs, { retry: false })).rejects.toBeInstanceOf(
      MailboxUnreachableError,
    );
    expect(streams).toBe(before + 1);
  });
});
