/**
 * Where the circuits' keys may be used. The development setup's toxic waste is public (its
 * powers of tau and phase-2 contribution are deterministic beacons), so anyone can forge
 * every proof its verifiers accept: a stranger withdraws any deposit to himself, slashes any
 * user, challenges any honest withdrawal (test/circuits/dev-setup-forgery.test.ts does it).
 * Those keys belong on local chains only; a public testnet takes them only when told so
 * explicitly, and a mainnet never.
 *
 * The deploy task, the gateway and the SDK all ask {@link assertSetupAllowed} before they
 * deploy to, serve or talk to a registry.
 */

/** How a chain is treated. `unknown` ids count as public: they are not local. */
export type ChainKind = "local" | "testnet" | "mainnet" | "unknown";

export interface ChainClassification {
    readonly chainId: bigint;
    readonly kind: ChainKind;
    /** A human name for known chains (`Sepolia`), else `chain <id>`. */
    readonly name: string;
}

/** Chains that run on the developer's machine: Hardhat (and `hardhat node`), anvil, geth/ganache dev. */
export const LOCAL_CHAINS: ReadonlyMap<bigint, string> = new Map([
    [31337n, "Hardhat / anvil (local)"],
    [1337n, "local development chain"]
]);

/** Public test networks: anyone can join them, but their tokens have no value. */
export const PUBLIC_TESTNETS: ReadonlyMap<bigint, string> = new Map([
    [11155111n, "Sepolia"],
    [17000n, "Holesky"],
    [560048n, "Hoodi"],
    [5n, "Goerli"],
    [84532n, "Base Sepolia"],
    [11155420n, "OP Sepolia"],
    [421614n, "Arbitrum Sepolia"],
    [80002n, "Polygon Amoy"],
    [59141n, "Linea Sepolia"],
    [534351n, "Scroll Sepolia"],
    [300n, "zkSync Sepolia"],
    [2442n, "Polygon zkEVM Cardona"],
    [97n, "BNB Smart Chain testnet"],
    [43113n, "Avalanche Fuji"],
    [4002n, "Fantom testnet"],
    [10200n, "Gnosis Chiado"],
    [44787n, "Celo Alfajores"],
    [5003n, "Mantle Sepolia"],
    [168587773n, "Blast Sepolia"],
    [999999999n, "Zora Sepolia"],
    [2522n, "Fraxtal testnet"],
    [1301n, "Unichain Sepolia"],
    [4801n, "World Chain Sepolia"],
    [1946n, "Soneium Minato"],
    [763373n, "Ink Sepolia"],
    [57054n, "Sonic Blaze testnet"],
    [919n, "Mode Sepolia"],
    [3441006n, "Manta Pacific Sepolia"],
    [338n, "Cronos testnet"]
]);

/** Mainnets: real money. The development setup is refused there whatever the flag. */
export const MAINNETS: ReadonlyMap<bigint, string> = new Map([
    [1n, "Ethereum mainnet"],
    [10n, "OP Mainnet"],
    [8453n, "Base"],
    [42161n, "Arbitrum One"],
    [42170n, "Arbitrum Nova"],
    [137n, "Polygon PoS"],
    [100n, "Gnosis"],
    [59144n, "Linea"],
    [534352n, "Scroll"],
    [324n, "zkSync Era"],
    [1101n, "Polygon zkEVM"],
    [56n, "BNB Smart Chain"],
    [204n, "opBNB"],
    [43114n, "Avalanche C-Chain"],
    [250n, "Fantom Opera"],
    [5000n, "Mantle"],
    [81457n, "Blast"],
    [7777777n, "Zora"],
    [252n, "Fraxtal"],
    [130n, "Unichain"],
    [480n, "World Chain"],
    [1868n, "Soneium"],
    [57073n, "Ink"],
    [146n, "Sonic"],
    [34443n, "Mode"],
    [169n, "Manta Pacific"],
    [25n, "Cronos"],
    [42220n, "Celo"],
    [1284n, "Moonbeam"],
    [1285n, "Moonriver"],
    [1088n, "Metis Andromeda"],
    [167000n, "Taiko"],
    [60808n, "BOB"],
    [2741n, "Abstract"],
    [80094n, "Berachain"],
    [1135n, "Lisk"],
    [8217n, "Kaia"],
    [2020n, "Ronin"],
    [1313161554n, "Aurora"],
    [288n, "Boba"],
    [61n, "Ethereum Classic"]
]);

/** The flag (deploy task, gateway, CLI) that accepts the development setup on a public testnet. */
export const ALLOW_INSECURE_SETUP_FLAG = "--allow-insecure-setup";

/** Where the reason is explained. */
export const TRUSTED_SETUP_DOC = "docs/trusted-setup.md";

const FORGEABLE =
    "anyone can forge every proof of the development setup from its public beacon (see " +
    `${TRUSTED_SETUP_DOC}), so a stranger could withdraw any deposit, slash any user and challenge any withdrawal`;

export function classifyChain(chainId: bigint | number): ChainClassification {
    const id = BigInt(chainId);
    if (id <= 0n) throw new RangeError(`chain id must be positive, got ${id}`);
    for (const [kind, chains] of [
        ["local", LOCAL_CHAINS],
        ["testnet", PUBLIC_TESTNETS],
        ["mainnet", MAINNETS]
    ] as const) {
        const name = chains.get(id);
        if (name !== undefined) return { chainId: id, kind, name };
    }
    return { chainId: id, kind: "unknown", name: `chain ${id}` };
}

export type InsecureSetupErrorCode = "INSECURE_SETUP_ON_MAINNET" | "INSECURE_SETUP_NOT_ALLOWED";

/** A refusal to use the development setup's keys on a chain where money could be at stake. */
export class InsecureSetupError extends Error {
    constructor(
        readonly code: InsecureSetupErrorCode,
        readonly chain: ChainClassification,
        message: string
    ) {
        super(`${code}: ${message}`);
        this.name = "InsecureSetupError";
    }
}

export interface SetupUse {
    readonly chainId: bigint | number;
    /** The artifact manifest's (or the deployment file's) `insecureDevelopmentSetup`. */
    readonly insecureDevelopmentSetup: boolean;
    /** The user passed {@link ALLOW_INSECURE_SETUP_FLAG}. */
    readonly allowInsecureSetup: boolean;
}

export interface SetupDecision {
    readonly chain: ChainClassification;
    /** Set when the development setup is used on a non-local chain because the flag allowed it. */
    readonly warning?: string;
}

/**
 * Allows a ceremony's keys anywhere and the development keys on local chains; on any other
 * chain the development keys need `allowInsecureSetup`, and on a known mainnet they are
 * refused whatever it says. A chain id this module does not know counts as public (it is
 * not local) and needs the flag too. Throws {@link InsecureSetupError}.
 */
export function assertSetupAllowed(use: SetupUse): SetupDecision {
    const chain = classifyChain(use.chainId);
    if (!use.insecureDevelopmentSetup || chain.kind === "local") return { chain };
    const where = `${chain.name} (chain id ${chain.chainId})`;
    if (chain.kind === "mainnet") {
        throw new InsecureSetupError(
            "INSECURE_SETUP_ON_MAINNET",
            chain,
            `refusing the INSECURE development setup on ${where}, a mainnet, even with ${ALLOW_INSECURE_SETUP_FLAG}: ` +
                `${FORGEABLE}. Run the production ceremony (${TRUSTED_SETUP_DOC}) and use its artifacts.`
        );
    }
    if (!use.allowInsecureSetup) {
        const unknown = chain.kind === "unknown" ? " (an unknown chain id counts as public: it is not a local chain)" : "";
        throw new InsecureSetupError(
            "INSECURE_SETUP_NOT_ALLOWED",
            chain,
            `refusing the INSECURE development setup on ${where}${unknown}: ${FORGEABLE}. ` +
                `Use a ceremony's artifacts (${TRUSTED_SETUP_DOC}), or pass ${ALLOW_INSECURE_SETUP_FLAG} to accept ` +
                "forgeable proofs on a test network where nothing of value is at stake."
        );
    }
    return {
        chain,
        warning:
            `WARNING the INSECURE development setup is in use on ${where} (${ALLOW_INSECURE_SETUP_FLAG}): ${FORGEABLE}. ` +
            "Never hold real money with it."
    };
}
