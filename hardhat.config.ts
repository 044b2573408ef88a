import { subtask, vars } from "hardhat/config";
import type { HardhatUserConfig } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";
import "./deploy/tasks";

// The compiler comes from the exactly pinned `solc` npm package, never from the network:
// Hardhat would otherwise try to download its compiler list from the Solidity website.
const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }) => {
    if (args.solcVersion !== SOLC_VERSION) {
        throw new Error(`only solc ${SOLC_VERSION} (the pinned npm package) is available, not ${args.solcVersion}`);
    }
    const solcPackage = require("solc/package.json") as { version: string };
    if (solcPackage.version !== SOLC_VERSION) {
        throw new Error(`the installed solc package is ${solcPackage.version}, expected ${SOLC_VERSION}`);
    }
    return {
        compilerPath: require.resolve("solc/soljson.js"),
        isSolcJs: true,
        version: SOLC_VERSION,
        longVersion: "0.8.28+commit.7893614a"
    };
});

// A testnet (or any remote chain) is configured by environment variables; the deployer key
// comes from Hardhat's encrypted configuration variables (`npx hardhat vars set
// DEPLOYER_PRIVATE_KEY`) or, for CI-style use, from the environment.
const remoteUrl = process.env.ZKAPI_RPC_URL;
const deployerKey = process.env.DEPLOYER_PRIVATE_KEY ?? vars.get("DEPLOYER_PRIVATE_KEY", "");

const config: HardhatUserConfig = {
    solidity: {
        version: SOLC_VERSION,
        settings: {
            evmVersion: "cancun",
            optimizer: { enabled: true, runs: 10_000 }
        }
    },
    networks: {
        hardhat: { hardfork: "cancun" },
        localhost: { url: process.env.ZKAPI_LOCAL_RPC_URL ?? "http://127.0.0.1:8545" },
        anvil: { url: process.env.ZKAPI_ANVIL_RPC_URL ?? "http://127.0.0.1:8546" },
        ...(remoteUrl
            ? { remote: { url: remoteUrl, accounts: deployerKey ? [deployerKey] : [] } }
            : {})
    },
    paths: {
        sources: "./contracts",
        tests: "./test",
        cache: "./cache",
        artifacts: "./artifacts"
    },
    typechain: {
        outDir: "typechain-types",
        target: "ethers-v6"
    },
    ignition: {
        // Local chains mine instantly; raise this for a public network.
        requiredConfirmations: Number(process.env.ZKAPI_CONFIRMATIONS ?? 1)
    },
    gasReporter: {
        enabled: process.env.REPORT_GAS === "true",
        offline: true,
        currency: "USD"
    },
    mocha: {
        timeout: 600_000
    }
};

export default config;
