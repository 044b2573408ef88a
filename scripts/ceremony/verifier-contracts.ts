/**
 * Compiles the Groth16 verifiers of an artifact set that does not live in contracts/ (a
 * ceremony's set) with the pinned solc, the settings of hardhat.config.ts, into Hardhat
 * artifacts that Ignition and ethers deploy; the standard JSON input is kept so that an
 * explorer can verify the deployed bytecode against it.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The compiler settings of hardhat.config.ts (the deploy task passes the configured ones). */
export interface SolcSettings {
    readonly evmVersion?: string;
    readonly optimizer?: { readonly enabled?: boolean; readonly runs?: number };
}

/** What the pinned solc (the `solc` npm package, solc-js) exposes. */
interface SolcJs {
    compile(input: string): string;
    version(): string;
}

/** A Hardhat artifact (hh-sol-artifact-1), as Ignition's `m.contract(name, artifact)` takes it. */
export interface ContractArtifact {
    readonly _format: "hh-sol-artifact-1";
    readonly contractName: string;
    readonly sourceName: string;
    readonly abi: readonly unknown[];
    readonly bytecode: string;
    readonly deployedBytecode: string;
    readonly linkReferences: Record<string, never>;
    readonly deployedLinkReferences: Record<string, never>;
}

export interface CompiledVerifier {
    readonly artifact: ContractArtifact;
    /** solc's long version (`0.8.28+commit.7893614a.Emscripten.clang`). */
    readonly solcVersion: string;
    /** The standard JSON input compiled: what an explorer's "standard JSON" verification takes. */
    readonly standardJsonInput: unknown;
}

interface SolcOutput {
    readonly errors?: readonly { readonly severity: string; readonly formattedMessage: string }[];
    readonly contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
}

/** Compiles one generated verifier (a self-contained file) and returns its artifact. */
export function compileVerifier(sourceFile: string, contractName: string, settings: SolcSettings): CompiledVerifier {
    const solc = require("solc") as SolcJs;
    const sourceName = `verifiers/${path.basename(sourceFile)}`;
    const standardJsonInput = {
        language: "Solidity",
        sources: { [sourceName]: { content: readFileSync(sourceFile, "utf8") } },
        settings: {
            ...(settings.evmVersion === undefined ? {} : { evmVersion: settings.evmVersion }),
            optimizer: { enabled: settings.optimizer?.enabled ?? false, runs: settings.optimizer?.runs ?? 200 },
            outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    };
    const output = JSON.parse(solc.compile(JSON.stringify(standardJsonInput))) as SolcOutput;
    const errors = (output.errors ?? []).filter((e) => e.severity === "error");
    if (errors.length > 0) throw new Error(`${sourceFile} does not compile:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
    const contract = output.contracts?.[sourceName]?.[contractName];
    if (contract === undefined) throw new Error(`${sourceFile} has no contract ${contractName}`);
    return {
        artifact: {
            _format: "hh-sol-artifact-1",
            contractName,
            sourceName,
            abi: contract.abi,
            bytecode: `0x${contract.evm.bytecode.object}`,
            deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
            linkReferences: {},
            deployedLinkReferences: {}
        },
        solcVersion: solc.version(),
        standardJsonInput
    };
}

/** The Hardhat runtime's slice this module needs (kept structural: scripts run without Hardhat). */
export interface ArtifactSource {
    readonly artifacts: { readArtifact(name: string): Promise<unknown> };
    readonly config: { readonly solidity: { readonly compilers: readonly { readonly settings: SolcSettings }[] } };
}

/**
 * A verifier's artifact: the project's compiled contract (Hardhat's artifacts) when the set is
 * the committed one (its verifiers are contracts/verifiers), else the set's own source compiled
 * with the project's compiler settings.
 */
export async function verifierArtifact(
    hre: ArtifactSource,
    verifierSource: string,
    contractName: string,
    projectVerifiersDir: string
): Promise<ContractArtifact> {
    if (path.resolve(path.dirname(verifierSource)) === path.resolve(projectVerifiersDir)) {
        return (await hre.artifacts.readArtifact(contractName)) as ContractArtifact;
    }
    const settings = hre.config.solidity.compilers[0]?.settings ?? {};
    return compileVerifier(verifierSource, contractName, settings).artifact;
}

/**
 * Lets `npx hardhat ignition verify <deployment>` verify verifiers deployed from compiled
 * artifacts (a ceremony's set): Ignition keeps no compiler input for a contract given as an
 * artifact, so this writes one (Hardhat's build-info format, the standard JSON input compiled)
 * into the deployment's journal, where Ignition's verification looks for it.
 */
export function writeVerifierBuildInfo(ignitionDeploymentDir: string, futureId: string, compiled: CompiledVerifier): void {
    const longVersion = compiled.solcVersion.replace(/\.Emscripten\.clang$/, "");
    const id = createHash("sha256").update(JSON.stringify(compiled.standardJsonInput)).update(longVersion).digest("hex").slice(0, 32);
    const buildInfoDir = path.join(ignitionDeploymentDir, "build-info");
    const artifactsDir = path.join(ignitionDeploymentDir, "artifacts");
    mkdirSync(buildInfoDir, { recursive: true });
    mkdirSync(artifactsDir, { recursive: true });
    const buildInfo = {
        _format: "hh-sol-build-info-1",
        id,
        solcVersion: longVersion.split("+")[0],
        solcLongVersion: longVersion,
        input: compiled.standardJsonInput,
        output: {}
    };
    writeFileSync(path.join(buildInfoDir, `${id}.json`), JSON.stringify(buildInfo, undefined, 2));
    writeFileSync(path.join(artifactsDir, `${futureId}.dbg.json`), JSON.stringify({ _format: "hh-sol-dbg-1", buildInfo: `../build-info/${id}.json` }, undefined, 2));
}
