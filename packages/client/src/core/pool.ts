// The typed worker pool lives in @postbox/protocol (the mailbox's workers use it too); the client's
// modules import it from here.
export * from "@postbox/protocol/pool";
