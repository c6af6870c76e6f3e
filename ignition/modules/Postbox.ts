import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { deployCore } from "./core.ts";

/**
 * Deploys the MailboxRegistry and the PaymentChannels against an existing SNT (`token`) on a real
 * network. `disputes` (the disputes contract's address, which may be predicted before it is
 * deployed), `admin` and `treasury` have no defaults. Parameters:
 * ignition/parameters/production.example.json.
 *
 *   npx hardhat ignition deploy ignition/modules/Postbox.ts --network NAME --parameters FILE
 */
export default buildModule("Postbox", (m) => {
  const token = m.getParameter<string>("token");
  return deployCore(m, token, m.getParameter<string>("disputes"));
});
