import path from "node:path";
import { task, types } from "hardhat/config";

/**
 *   npx hardhat deploy-registry --network <network> --provider-key <provider-key.json>
 *       [--parameters deploy/parameters/<file>.json] [--out deployments/<network>.json]
 *
 * Local chains (Hardhat, hardhat node, anvil) get a TestToken when the parameters name no
 * token; any other network needs token, treasury and owner in its parameters file.
 */
task("deploy-registry", "Deploys the credit registry with its Poseidon libraries and verifiers")
    .addParam("providerKey", "provider key file holding { publicKey: [x, y] }", undefined, types.inputFile)
    .addOptionalParam("parameters", "registry parameters (JSON)", undefined, types.inputFile)
    .addOptionalParam("out", "deployment file to write", undefined, types.string)
    .setAction(async (args: { providerKey: string; parameters?: string; out?: string }, hre) => {
        const { deployRegistry, readDeployParameters, readProviderPublicKey } = await import("./registry-deployment");
        const root = hre.config.paths.root;
        const parametersFile =
            args.parameters ?? path.join(root, "deploy/parameters", ["hardhat", "localhost", "anvil"].includes(hre.network.name) ? "local.json" : `${hre.network.name}.json`);
        await deployRegistry(hre, {
            providerKey: readProviderPublicKey(args.providerKey),
            parameters: readDeployParameters(parametersFile),
            out: args.out ?? path.join(root, "deployments", `${hre.network.name}.json`)
        });
    });
