import { getAddress } from "ethers";
import type { Point } from "@zk-kit/baby-jubjub";
import { FOLD_SIZE, TICKET_WINDOW, TREE_DEPTH } from "./constants";
import type { RegistryTerms } from "./registry";

/**
 * What a deployment writes (deployments/<network>.json) and what clients and the gateway
 * read: where the contracts are, from which block to sync events, and the registry's
 * parameters. Numbers are decimal strings in the file.
 */
export interface RegistryDeployment {
    readonly network: string;
    readonly chainId: bigint;
    /** Block of the registry's deployment: event sync starts here. */
    readonly deploymentBlock: number;
    readonly contracts: {
        readonly registry: string;
        readonly token: string;
        readonly spendVerifier: string;
        readonly foldVerifier: string;
        readonly withdrawVerifier: string;
        readonly slashVerifier: string;
    };
    readonly parameters: RegistryTerms & {
        readonly treasury: string;
        readonly owner: string;
        readonly providerKey: Point<bigint>;
        readonly challengeWindow: bigint;
        readonly depositTerm: bigint;
        /** Blocks per epoch: epoch n's root is the tree after every event of blocks <= n * epochBlocks. */
        readonly epochBlocks: number;
        /** Depth of the registry tree: always TREE_DEPTH (32), bound to the Spend circuit, not a parameter. */
        readonly treeDepth: number;
        /** W: always TICKET_WINDOW (8), bound to the circuits. */
        readonly ticketWindow: number;
        /** K: always FOLD_SIZE (2), bound to the circuits. */
        readonly foldSize: number;
        readonly minimumDeposit: bigint;
        readonly scope: bigint;
        readonly context: bigint;
    };
    /** True when the circuits' keys come from the insecure development setup. */
    readonly insecureDevelopmentSetup: boolean;
    /** The deployer passed --allow-insecure-setup (development keys on a public test network). */
    readonly allowInsecureSetup?: boolean;
}

type Json = { [key: string]: unknown };

/** The deployment file's JSON text (bigints as decimal strings). */
export function serializeDeployment(deployment: RegistryDeployment): string {
    return `${JSON.stringify(deployment, (_, value: unknown) => (typeof value === "bigint" ? value.toString() : value), 2)}\n`;
}

/** Parses and checks a deployment file's JSON text. */
export function parseDeployment(text: string): RegistryDeployment {
    const raw = JSON.parse(text) as Json;
    const contracts = raw.contracts as Json;
    const parameters = raw.parameters as Json;
    const big = (value: unknown, name: string): bigint => {
        if (typeof value !== "string" && typeof value !== "number") throw new TypeError(`deployment: ${name} is missing`);
        return BigInt(value);
    };
    const address = (value: unknown, name: string): string => {
        if (typeof value !== "string") throw new TypeError(`deployment: ${name} is missing`);
        return getAddress(value);
    };
    const positive = (value: unknown, name: string): number => {
        const n = big(value, name);
        if (n <= 0n || n > 0xffffffffn) throw new TypeError(`deployment: ${name} = ${n} is not in [1, 2^32 - 1]`);
        return Number(n);
    };
    // Constants of the circuits, written to the file for readers; absent (older files) means the constant.
    const fixed = (value: unknown, name: string, expected: number): number => {
        if (value === undefined) return expected;
        const n = Number(big(value, name));
        if (n !== expected) throw new TypeError(`deployment: ${name} = ${n}, but the circuits are built for ${expected}`);
        return n;
    };
    const key = parameters.providerKey as unknown[];
    return {
        network: String(raw.network),
        chainId: big(raw.chainId, "chainId"),
        deploymentBlock: Number(big(raw.deploymentBlock, "deploymentBlock")),
        contracts: {
            registry: address(contracts.registry, "contracts.registry"),
            token: address(contracts.token, "contracts.token"),
            spendVerifier: address(contracts.spendVerifier, "contracts.spendVerifier"),
            foldVerifier: address(contracts.foldVerifier, "contracts.foldVerifier"),
            withdrawVerifier: address(contracts.withdrawVerifier, "contracts.withdrawVerifier"),
            slashVerifier: address(contracts.slashVerifier, "contracts.slashVerifier")
        },
        parameters: {
            treasury: address(parameters.treasury, "parameters.treasury"),
            owner: address(parameters.owner, "parameters.owner"),
            providerKey: [big(key[0], "providerKey.x"), big(key[1], "providerKey.y")],
            maxCost: big(parameters.maxCost, "maxCost"),
            policyPenalty: big(parameters.policyPenalty, "policyPenalty"),
            reserveBps: big(parameters.reserveBps, "reserveBps"),
            challengeWindow: big(parameters.challengeWindow, "challengeWindow"),
            depositTerm: big(parameters.depositTerm, "depositTerm"),
            epochBlocks: positive(parameters.epochBlocks, "epochBlocks"),
            treeDepth: fixed(parameters.treeDepth, "treeDepth", TREE_DEPTH),
            ticketWindow: fixed(parameters.ticketWindow, "ticketWindow", TICKET_WINDOW),
            foldSize: fixed(parameters.foldSize, "foldSize", FOLD_SIZE),
            minimumDeposit: big(parameters.minimumDeposit, "minimumDeposit"),
            scope: big(parameters.scope, "scope"),
            context: big(parameters.context, "context")
        },
        insecureDevelopmentSetup: raw.insecureDevelopmentSetup === true,
        allowInsecureSetup: raw.allowInsecureSetup === true
    };
}
