/**
 * What the deploy task checks before it sends anything: which artifact set's verifiers it
 * deploys (the committed development set, or a ceremony's), that the set's files are the ones
 * its manifest lists, and that its keys may go to this chain (packages/protocol chain-safety:
 * the development keys stay on local chains unless --allow-insecure-setup, and never reach a
 * mainnet). A set whose verifiers are not the project's contracts is compiled here with the
 * project's compiler settings.
 */
import path from "node:path";
import { assertSetupAllowed } from "@zk-api-credits/protocol";
import { VERIFIERS_DIR } from "../circuits/config";
import { artifactSetMismatches, DEFAULT_ARTIFACT_SET, loadArtifactSet } from "./artifact-set";
import type { ArtifactSet } from "./artifact-set";
import { compileVerifier, writeVerifierBuildInfo } from "./verifier-contracts";
import type { CompiledVerifier, ContractArtifact, SolcSettings } from "./verifier-contracts";

/** The verifier contracts the registry takes, by the names the modules deploy them under. */
export const REGISTRY_VERIFIERS = ["SpendVerifier", "FoldVerifier", "WithdrawVerifier", "SlashVerifier"] as const;
export type RegistryVerifier = (typeof REGISTRY_VERIFIERS)[number];

export interface DeploymentSetupOptions {
    /** The artifact set's folder (default circuits/artifacts, the development set). */
    readonly artifacts?: string;
    /** `--allow-insecure-setup`: the development keys on a public testnet. */
    readonly allowInsecureSetup?: boolean;
}

export interface DeploymentSetup {
    readonly set: ArtifactSet;
    readonly insecureDevelopmentSetup: boolean;
    readonly allowInsecureSetup: boolean;
    /** Set when the development keys go to a non-local chain because the flag allowed it. */
    readonly warning?: string;
    /** The set's verifiers compiled here; undefined when they are the project's (contracts/verifiers). */
    readonly verifiers?: Readonly<Record<RegistryVerifier, CompiledVerifier>>;
}

/**
 * Refuses (throws) before anything is deployed unless the set's keys may go to `chainId` and its
 * files match its manifest; returns the set and, for a set outside the project, its compiled
 * verifiers.
 */
export async function checkDeploymentSetup(chainId: bigint, settings: SolcSettings, options: DeploymentSetupOptions = {}): Promise<DeploymentSetup> {
    const set = loadArtifactSet(path.resolve(options.artifacts ?? DEFAULT_ARTIFACT_SET));
    const allowInsecureSetup = options.allowInsecureSetup ?? false;
    const { warning } = assertSetupAllowed({ chainId, insecureDevelopmentSetup: set.insecureDevelopmentSetup, allowInsecureSetup });
    const problems = await artifactSetMismatches(set);
    if (problems.length > 0) throw new Error(`the artifact set in ${set.dir} does not match its manifest:\n  ${problems.join("\n  ")}`);
    const byContract = new Map(set.circuits.map((c) => [c.verifierContract, c]));
    const missing = REGISTRY_VERIFIERS.filter((name) => !byContract.has(name));
    if (missing.length > 0) throw new Error(`the artifact set in ${set.dir} has no ${missing.join(", ")}`);
    const own = REGISTRY_VERIFIERS.every((name) => path.dirname(byContract.get(name)!.verifier) === VERIFIERS_DIR);
    const verifiers = own
        ? undefined
        : (Object.fromEntries(
              REGISTRY_VERIFIERS.map((name) => [name, compileVerifier(byContract.get(name)!.verifier, name, settings)])
          ) as Record<RegistryVerifier, CompiledVerifier>);
    return { set, insecureDevelopmentSetup: set.insecureDevelopmentSetup, allowInsecureSetup, ...(warning ? { warning } : {}), ...(verifiers ? { verifiers } : {}) };
}

/**
 * Writes the compiler input of verifiers deployed from compiled artifacts into an Ignition
 * deployment's journal, so that `npx hardhat ignition verify <deployment>` verifies them like
 * the project's contracts.
 */
export function recordVerifierSources(ignitionDeploymentDir: string, moduleId: string, setup: DeploymentSetup): void {
    if (setup.verifiers === undefined) return;
    for (const name of REGISTRY_VERIFIERS) writeVerifierBuildInfo(ignitionDeploymentDir, `${moduleId}#${name}`, setup.verifiers[name]);
}

/** The Hardhat artifacts of the verifiers compiled from the set (what the deploy modules take), if any. */
export function verifierArtifacts(setup: DeploymentSetup): Readonly<Record<RegistryVerifier, ContractArtifact>> | undefined {
    const { verifiers } = setup;
    if (verifiers === undefined) return undefined;
    return Object.fromEntries(REGISTRY_VERIFIERS.map((name) => [name, verifiers[name].artifact])) as Record<RegistryVerifier, ContractArtifact>;
}
