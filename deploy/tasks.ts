import path from "node:path";
import { task, types } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";

/** Networks whose parameters default to deploy/parameters/local.json. */
const LOCAL_NETWORKS = ["hardhat", "localhost", "anvil"];

/**
 *   npx hardhat deploy-registry --network <network> --provider-key <provider-key.json>
 *       [--parameters deploy/parameters/<file>.json] [--out deployments/<network>.json]
 *       [--artifacts <artifact set>] [--allow-insecure-setup]
 *
 * Local chains (Hardhat, hardhat node, anvil) get a TestToken when the parameters name no
 * token; any other network needs token, treasury and owner in its parameters file.
 * The verifiers come from `--artifacts` (a ceremony's set, docs/trusted-setup.md), by default
 * the committed development set, which is refused on any non-local chain unless
 * `--allow-insecure-setup` and on mainnets whatever the flag: anyone can forge its proofs.
 */
task("deploy-registry", "Deploys the credit registry with its Poseidon libraries and four verifiers")
    .addParam("providerKey", "provider key file holding { publicKey: [x, y] }", undefined, types.inputFile)
    .addOptionalParam("parameters", "registry parameters (JSON)", undefined, types.inputFile)
    .addOptionalParam("out", "deployment file to write", undefined, types.string)
    .addOptionalParam("artifacts", "artifact set whose verifiers to deploy (a ceremony's folder; default circuits/artifacts)", undefined, types.string)
    .addFlag("allowInsecureSetup", "accept the INSECURE development keys on a public testnet (refused on mainnets regardless)")
    .setAction(async (args: { providerKey: string; parameters?: string; out?: string; artifacts?: string; allowInsecureSetup: boolean }, hre) => {
        const { deployRegistry, readDeployParameters, readProviderPublicKey } = await import("./registry-deployment");
        const { checkDeploymentSetup } = await import("../scripts/ceremony/deployment-setup");
        const root = hre.config.paths.root;
        const parametersFile =
            args.parameters ?? path.join(root, "deploy/parameters", LOCAL_NETWORKS.includes(hre.network.name) ? "local.json" : `${hre.network.name}.json`);
        const providerKey = readProviderPublicKey(args.providerKey);
        const parameters = readDeployParameters(parametersFile);

        // Checks that must pass before anything is sent to the network belong here, in this order:
        // the inputs are read, nothing is deployed yet.
        const chainId = BigInt((await hre.network.provider.request({ method: "eth_chainId" })) as string);
        const setup = await checkDeploymentSetup(chainId, hre.config.solidity.compilers[0]?.settings ?? {}, {
            artifacts: args.artifacts,
            allowInsecureSetup: args.allowInsecureSetup
        }).catch((error: unknown) => {
            // A refusal is an answer, not a crash: its message without a stack trace.
            throw new HardhatPluginError("deploy-registry", error instanceof Error ? error.message : String(error));
        });

        await deployRegistry(hre, {
            providerKey,
            parameters,
            setup,
            out: args.out ?? path.join(root, "deployments", `${hre.network.name}.json`)
        });
    });
