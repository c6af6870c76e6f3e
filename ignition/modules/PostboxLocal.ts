import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { deployCore } from "./core.ts";

/**
 * Local chains only: deploys the test SNT (minting `initialSupply` to the deployer), then the
 * MailboxRegistry and the PaymentChannels with the devnet's short delays. Until the disputes
 * contract exists, the deployer stands in for it (`disputes` defaults to account 0).
 *
 *   npx hardhat ignition deploy ignition/modules/PostboxLocal.ts --parameters ignition/parameters/local.json
 */
export default buildModule("PostboxLocal", (m) => {
  const deployer = m.getAccount(0);
  const snt = m.contract("SNT", [
    deployer,
    m.getParameter<bigint>("initialSupply", 100_000_000n * 10n ** 18n),
  ]);
  return { snt, ...deployCore(m, snt, m.getParameter("disputes", deployer)) };
});
