import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { deployCore, deployDisputes } from "./core.ts";

/**
 * Deploys the MailboxRegistry, the PaymentChannels and the Disputes contract against an existing
 * SNT (`token`) on a real network, in that order, from one account that sends nothing else
 * meanwhile. `disputes` is the address Disputes will have: the deployer's CREATE address at its
 * current nonce + 2 (the registry and the channels take the two before), e.g. viem's
 * `getContractAddress({ from: deployer, nonce: BigInt(nonce + 2) })`; a wrong one makes the
 * Disputes deployment revert (`DisputesRegistryMismatch`). `admin` and `treasury` have no
 * defaults. Parameters: ignition/parameters/production.example.json.
 *
 *   npx hardhat ignition deploy ignition/modules/Postbox.ts --network NAME --parameters FILE
 */
export default buildModule("Postbox", (m) => {
  const token = m.getParameter<string>("token");
  const { registry, channels } = deployCore(m, token, m.getParameter<string>("disputes"));
  const disputes = deployDisputes(m, registry, [registry, channels]);
  return { registry, channels, disputes };
});
