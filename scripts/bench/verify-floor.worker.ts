// A signature-checking worker thread of the floor benchmark (verify-floor.ts): jobs in, counts out.
import { defaultPlatform } from "@postbox/client";
import { serveParent } from "@postbox/net/worker";
import { verifyHandler } from "./verify-floor.ts";

serveParent(verifyHandler(defaultPlatform().crypto));
