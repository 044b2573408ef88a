import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildCreditRegistry } from "./CreditRegistry";

/** Local networks only: a mintable test token and a registry for it. */
export default buildModule("LocalCreditRegistry", (m) => {
    const token = m.contract("TestToken");
    return { token, ...buildCreditRegistry(m, token) };
});
