import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { deployCore, deployDisputes } from "./core.ts";

/**
 * Local chains only: deploys the test SNT (minting `initialSupply` to the deployer), then the
 * MailboxRegistry, the PaymentChannels and the Disputes contract with the devnet's short delays, as
 * `deployPostbox` does. `disputes` is where Disputes lands: on a fresh chain, Hardhat's account #0 at
 * nonce 3 (SNT, registry and channels take 0-2), which ignition/parameters/local.json names; on a
 * chain where account #0 has sent before, Disputes' constructor refuses the registry and the
 * deployment fails.
 *
 *   npx hardhat ignition deploy ignition/modules/PostboxLocal.ts --parameters ignition/parameters/local.json
 */
export default buildModule("PostboxLocal", (m) => {
  const deployer = m.getAccount(0);
  const snt = m.contract("SNT", [
    deployer,
    m.getParameter<bigint>("initialSupply", 100_000_000n * 10n ** 18n),
  ]);
  const { registry, channels } = deployCore(m, snt, m.getParameter<string>("disputes"));
  const disputes = deployDisputes(m, registry, [registry, channels]);
  return { snt, registry, channels, disputes };
});
