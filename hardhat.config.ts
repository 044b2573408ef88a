import { extendEnvironment, subtask, vars } from "hardhat/config";
import type { HardhatUserConfig, NetworksUserConfig } from "hardhat/types";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_TEST_GET_TEST_FILES } from "hardhat/builtin-tasks/task-names";
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

// `hardhat test` without arguments runs the suites (`*.test.ts`) only: helpers, support modules,
// child-process scripts and type declarations under test/ are not test files.
subtask(TASK_TEST_GET_TEST_FILES, async (args: { testFiles: string[] }, _hre, runSuper) => {
    const files = (await runSuper(args)) as string[];
    return args.testFiles.length > 0 ? files : files.filter((file) => file.endsWith(".test.ts"));
});

// Public networks: each is defined only when its RPC URL is in the environment (e.g.
// `SEPOLIA_RPC_URL=https://... npx hardhat deploy-registry --network sepolia ...`), with the
// chain id Hardhat checks against the node's, so a URL pointing at the wrong chain fails
// instead of deploying there. `remote` (ZKAPI_RPC_URL) takes any chain. The deployer key comes
// from Hardhat's encrypted configuration variables (`npx hardhat vars set DEPLOYER_PRIVATE_KEY`)
// or, for CI-style use, from the environment. The deploy task refuses the development setup on
// every one of these unless `--allow-insecure-setup` (testnets only; never on a mainnet):
// see docs/trusted-setup.md.
const deployerKey = process.env.DEPLOYER_PRIVATE_KEY ?? vars.get("DEPLOYER_PRIVATE_KEY", "");
const PUBLIC_NETWORKS: Record<string, { readonly chainId?: number; readonly urlVariable: string }> = {
    // testnets
    sepolia: { chainId: 11155111, urlVariable: "SEPOLIA_RPC_URL" },
    holesky: { chainId: 17000, urlVariable: "HOLESKY_RPC_URL" },
    "base-sepolia": { chainId: 84532, urlVariable: "BASE_SEPOLIA_RPC_URL" },
    "optimism-sepolia": { chainId: 11155420, urlVariable: "OPTIMISM_SEPOLIA_RPC_URL" },
    "arbitrum-sepolia": { chainId: 421614, urlVariable: "ARBITRUM_SEPOLIA_RPC_URL" },
    "polygon-amoy": { chainId: 80002, urlVariable: "POLYGON_AMOY_RPC_URL" },
    // mainnets (the development setup is refused on these whatever the flag)
    mainnet: { chainId: 1, urlVariable: "MAINNET_RPC_URL" },
    base: { chainId: 8453, urlVariable: "BASE_RPC_URL" },
    optimism: { chainId: 10, urlVariable: "OPTIMISM_RPC_URL" },
    arbitrum: { chainId: 42161, urlVariable: "ARBITRUM_RPC_URL" },
    polygon: { chainId: 137, urlVariable: "POLYGON_RPC_URL" },
    // any other chain
    remote: { urlVariable: "ZKAPI_RPC_URL" }
};
/** Confirmations each deployment transaction waits for on these networks. */
const PUBLIC_CONFIRMATIONS = Number(process.env.ZKAPI_CONFIRMATIONS ?? 5);
const publicNetworks: NetworksUserConfig = {};
for (const [name, { chainId, urlVariable }] of Object.entries(PUBLIC_NETWORKS)) {
    const url = process.env[urlVariable];
    if (url) publicNetworks[name] = { url, ...(chainId === undefined ? {} : { chainId }), accounts: deployerKey ? [deployerKey] : [] };
}
// Ignition's confirmations: raised on the public networks above (`npx hardhat ignition deploy`
// and the deploy task both read them); left unset elsewhere, where Ignition waits for one on an
// automining chain (Hardhat, hardhat node, anvil).
extendEnvironment((hre) => {
    if (hre.network.name in publicNetworks) hre.config.ignition.requiredConfirmations = PUBLIC_CONFIRMATIONS;
});

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
        ...publicNetworks
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
    // Explorer verification (hardhat-verify, part of the toolbox): one Etherscan API key serves
    // every chain through Etherscan's v2 API (`npx hardhat vars set ETHERSCAN_API_KEY`). After a
    // deployment: `npx hardhat ignition verify zkapi-<network>-<chainId>`
    // (see docs/trusted-setup.md). Sourcify stays off: nothing here talks to the network unasked.
    etherscan: {
        apiKey: process.env.ETHERSCAN_API_KEY ?? vars.get("ETHERSCAN_API_KEY", ""),
        customChains: [
            {
                network: "optimism-sepolia",
                chainId: 11155420,
                urls: { apiURL: "https://api.etherscan.io/v2/api", browserURL: "https://sepolia-optimism.etherscan.io" }
            }
        ]
    },
    sourcify: { enabled: false },
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
