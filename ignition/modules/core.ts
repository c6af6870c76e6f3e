import type { ArgumentType, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/**
 * Adds the registry and the channels, funded in `token`, to a module. `disputes` is the only address
 * that can ever slash and jail (fixed at construction): the disputes contract on a real network.
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
