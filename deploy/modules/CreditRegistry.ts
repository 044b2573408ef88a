import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ArgumentType, Artifact, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/** Verifiers to deploy from compiled artifacts (a ceremony's set) instead of the project's contracts. */
export type VerifierArtifacts = Readonly<Record<"SpendVerifier" | "FoldVerifier" | "WithdrawVerifier" | "SlashVerifier", Artifact>>;

/**
 * The registry and what it links to: the Poseidon libraries (scope and context in the
 * constructor, the disclosure challenge's hash at run time), the four generated Groth16
 * verifiers (Spend(32, 8), Fold(2), Withdraw(2, 8), Slash) and the registry. The tree depth (32),
 * the ticket window (8) and the fold size (2) are the circuits' and no parameter.
 * `token` is either a deployed token's address (parameter) or a future of this deployment;
 * `verifiers`, when given, are deployed from those artifacts (see scripts/ceremony/deployment-setup.ts).
 */
export function buildCreditRegistry(m: IgnitionModuleBuilder, token: ArgumentType, verifiers?: VerifierArtifacts) {
    const poseidonT3 = m.library("PoseidonT3");
    const poseidonT5 = m.library("PoseidonT5");
    const verifier = (name: keyof VerifierArtifacts) => (verifiers ? m.contract(name, verifiers[name]) : m.contract(name));
    const spendVerifier = verifier("SpendVerifier");
    const foldVerifier = verifier("FoldVerifier");
    const withdrawVerifier = verifier("WithdrawVerifier");
    const slashVerifier = verifier("SlashVerifier");
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
                epochBlocks: m.getParameter<bigint>("epochBlocks"),
                spendVerifier,
                foldVerifier,
                withdrawVerifier,
                slashVerifier,
                owner: m.getParameter<string>("owner")
            }
        ],
        { libraries: { PoseidonT3: poseidonT3, PoseidonT5: poseidonT5 } }
    );
    return { registry, spendVerifier, foldVerifier, withdrawVerifier, slashVerifier, poseidonT3, poseidonT5 };
}

/** The registry for an existing ERC-20 (any network): `token` is a parameter. */
export default buildModule("CreditRegistry", (m) => buildCreditRegistry(m, m.getParameter<string>("token")));
