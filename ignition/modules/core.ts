import type { ArgumentType, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/** Adds the registry and the channels, funded in `token`, to a module. */
export function deployCore(m: IgnitionModuleBuilder, token: ArgumentType) {
  const deployer = m.getAccount(0);
  const registry = m.contract("MailboxRegistry", [
    token,
    m.getParameter<bigint>("minStake"),
    m.getParameter<bigint>("unbondingPeriod"),
    m.getParameter<bigint>("priceDelay"),
    m.getParameter<bigint>("maxSlashBps", 1_000n),
    m.getParameter<bigint>("slashBeneficiaryBps", 5_000n),
    m.getParameter("admin", deployer),
    m.getParameter("beneficiary", deployer),
    m.getParameter("treasury", deployer),
  ]);
  const channels = m.contract("PaymentChannels", [token, m.getParameter<bigint>("closeGrace")]);
  return { registry, channels };
}
