import type { ArgumentType, Future, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/**
 * Adds the registry and the channels, funded in `token`, to a module. `disputes` is the only address
 * that can ever slash and jail (fixed at construction): the Disputes contract that
 * {@link deployDisputes} deploys next, at the address the deployer's nonce predicts.
 */
export function deployCore(m: IgnitionModuleBuilder, token: ArgumentType, disputes: ArgumentType) {
  const deployer = m.getAccount(0);
  const registry = m.contract("MailboxRegistry", [
    token,
    m.getParameter<bigint>("minStake"),
    m.getParameter<bigint>("unbondingPeriod"),
    m.getParameter<bigint>("priceDelay"),
    m.getParameter<bigint>("maxSlashBps", 1_000n),
    m.getParameter<bigint>("slashPeriod"),
    m.getParameter<bigint>("slashRewardBps", 5_000n),
    disputes,
    m.getParameter("treasury", deployer),
    m.getParameter("admin", deployer),
    m.getParameter<number>("adminDelay"),
  ]);
  const channels = m.contract("PaymentChannels", [token, m.getParameter<bigint>("closeGrace")]);
  return { registry, channels };
}

/**
 * Adds the Disputes contract on `registry`, after every transaction in `after` (as `deployPostbox`
 * does: the registry, the channels, then Disputes, so that it takes the deployer's nonce the
 * registry was given as `disputes`). Its constructor refuses a registry naming another address, so a
 * wrong prediction fails the deployment instead of leaving a registry nobody can slash for.
 * Parameters as `networkParameters`: `disputeBond`, `responseWindow`, `disputeSlashBps`, `jailTerm`.
 */
export function deployDisputes(m: IgnitionModuleBuilder, registry: ArgumentType, after: Future[]) {
  return m.contract(
    "Disputes",
    [
      registry,
      m.getParameter<bigint>("disputeBond"),
      m.getParameter<bigint>("responseWindow"),
      m.getParameter<bigint>("disputeSlashBps", 1_000n),
      m.getParameter<bigint>("jailTerm"),
    ],
    { after },
  );
}
