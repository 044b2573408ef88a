import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ArgumentType, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/**
 * The registry and what it links to: the Poseidon libraries (used once, in the constructor,
 * to compute scope and context), the three generated Groth16 verifiers and the registry.
 * `token` is either a deployed token's address (parameter) or a future of this deployment.
 */
export function buildCreditRegistry(m: IgnitionModuleBuilder, token: ArgumentType) {
    const poseidonT3 = m.library("PoseidonT3");
    const poseidonT5 = m.library("PoseidonT5");
    const spendVerifier = m.contract("SpendVerifier");
    const withdrawVerifier = m.contract("WithdrawVerifier");
    const slashVerifier = m.contract("SlashVerifier");
    const registry = m.contract(
        "CreditRegistry",
        [
            {
                token,
                treasury: m.getParameter<string>("treasury"),
                providerKeyX: m.getParameter<bigint>("providerKeyX"),
                providerKeyY: m.getParameter<bigint>("providerKeyY"),
                maxCost: m.getParameter<bigint>("maxCost"),
                policyPenalty: m.getParameter<bigint>("policyPenalty"),
                reserveBps: m.getParameter<bigint>("reserveBps"),
                challengeWindow: m.getParameter<bigint>("challengeWindow"),
                depositTerm: m.getParameter<bigint>("depositTerm"),
                treeDepth: m.getParameter<bigint>("treeDepth", 20n),
                spendVerifier,
                withdrawVerifier,
                slashVerifier,
                owner: m.getParameter<string>("owner")
            }
        ],
        { libraries: { PoseidonT3: poseidonT3, PoseidonT5: poseidonT5 } }
    );
    return { registry, spendVerifier, withdrawVerifier, slashVerifier, poseidonT3, poseidonT5 };
}

/** The registry for an existing ERC-20 (any network): `token` is a parameter. */
export default buildModule("CreditRegistry", (m) => buildCreditRegistry(m, m.getParameter<string>("token")));
