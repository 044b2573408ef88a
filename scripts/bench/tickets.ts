/**
 * Real v2 tickets for the gateway benchmarks (scripts/bench/gateway.ts, scripts/bench/abuse.ts):
 * deterministic accounts registered on a local deployment, Spend(32, 8) proofs of every index
 * of each account's first window (genesis base), each signed for one request by the ticket's
 * own request key, exactly as a client sends it. Proving is slow (seconds per ticket), so the
 * tickets are cached under .cache/bench, keyed by everything they depend on: the registry and
 * its context (a fixed provider key makes the deployment reproducible), the epoch root (the
 * same accounts registered in the same order), the proving key and the counts.
 *
 * Also the attacker's junk tickets of issue 11 item 7: built from public data only (no
 * deposit): a canonical envelope, a fresh ephemeral key that really signs the request, the
 * gateway's context and current epoch root, and random group elements as the "proof" (A, C in
 * G1, B in G2: they pass every point check and cost the gateway a pairing).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { JsonRpcProvider, keccak256, NonceManager, toUtf8Bytes } from "ethers";
import { getCurveFromName } from "ffjavascript";
import { ICreditRegistry__factory, TestToken__factory } from "@zk-api-credits/contracts";
import {
    baseBlinding,
    decodeTicket,
    RequestKey,
    encodeTicket,
    ephemeralKeyBinding,
    GENESIS_BASE,
    Identity,
    packProof,
    RegistrySync,
    requestHash,
    requestSigner,
    SNARK_SCALAR_FIELD,
    spendInputs,
    ticketBlinding,
    TICKET_WINDOW,
    TREE_DEPTH
} from "@zk-api-credits/protocol";
import type { RegistryBinding, RegistryDeployment } from "@zk-api-credits/protocol";
import { devWallet } from "../lib/stack";
import type { DeployedStack } from "../lib/stack";
import { artifactPaths, prover, ROOT } from "./common";

/** A fixed provider key: the benchmark deployment (and so its cached tickets) is reproducible. */
export const BENCH_PROVIDER_KEY = "0x7a6b6170692062656e63686d61726b2070726f7669646572206b65792c20696e736563757265";
export const BENCH_DEPOSIT = 10n ** 19n;
/** The paid route every benchmark request goes to (the gateway's echo model behind it). */
export const BENCH_PATH = "/v1/chat/completions";

/** One paid request, ready to send: the body and the ticket header signed for it. */
export interface BenchRequest {
    readonly account: number;
    readonly index: number;
    readonly body: string;
    readonly header: string;
}

const log = (message: string): void => console.log(`[bench-tickets] ${message}`);

/** The i-th benchmark identity (deterministic). */
function benchIdentity(i: number): Identity {
    return new Identity(BigInt(keccak256(toUtf8Bytes(`zk-api-credits benchmark user ${i}`))) % SNARK_SCALAR_FIELD);
}

/** The i-th benchmark identity's ticket `request` signed for another body (the proof does not depend on the body). */
export function resign(deployment: RegistryDeployment, request: BenchRequest, body: string, path = BENCH_PATH): BenchRequest {
    const signer = requestSigner(benchIdentity(request.account).secret, deployment.parameters.scope, BigInt(request.index));
    const header = encodeTicket({ ...decodeTicket(request.header), requestSignature: signer.signMessage(requestHash("POST", path, Buffer.from(body))) });
    return { ...request, body, header };
}

/** A request body whose worst case stays far below maxCost. */
export function benchBody(label: string): string {
    return JSON.stringify({ model: "echo", messages: [{ role: "user", content: `benchmark request ${label}` }], max_tokens: 16 });
}

/** Registers `accounts` deterministic identities in order (same order, same amounts: same tree every run). */
export async function registerBenchAccounts(stack: DeployedStack, chain: JsonRpcProvider, accounts: number): Promise<Identity[]> {
    const funder = new NonceManager(devWallet(3).connect(chain));
    const token = TestToken__factory.connect(stack.deployment.contracts.token, funder);
    const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, funder);
    const total = BENCH_DEPOSIT * BigInt(accounts);
    await (await token.mint(await funder.getAddress(), total)).wait();
    await (await token.approve(stack.deployment.contracts.registry, total)).wait();
    const identities: Identity[] = [];
    for (let i = 0; i < accounts; i++) {
        const identity = benchIdentity(i);
        const tx = await registry.register(identity.commitment, BENCH_DEPOSIT);
        if (i === accounts - 1) await tx.wait();
        identities.push(identity);
    }
    return identities;
}

function bindingOf(deployment: RegistryDeployment): RegistryBinding {
    const { parameters } = deployment;
    return { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
}

/**
 * Every index of the first window of each account, proved once against the current epoch root
 * and cached; each ticket is signed for its own request body.
 */
export async function benchRequests(stack: DeployedStack, chain: JsonRpcProvider, identities: readonly Identity[]): Promise<BenchRequest[]> {
    const { deployment } = stack;
    const sync = new RegistrySync({
        registry: ICreditRegistry__factory.connect(deployment.contracts.registry, chain),
        fromBlock: deployment.deploymentBlock,
        epochBlocks: Number(deployment.parameters.epochBlocks)
    });
    const tree = await sync.sync();
    const zkey = createHash("sha256").update(readFileSync(artifactPaths("spend-32").zkey)).digest("hex");
    const key = createHash("sha256")
        .update(`${deployment.contracts.registry}:${deployment.parameters.context}:${tree.root}:${zkey}:${identities.length}:${TICKET_WINDOW}`)
        .digest("hex")
        .slice(0, 16);
    const file = path.join(ROOT, ".cache/bench", `gateway-v2-tickets-${key}.json`);
    const total = identities.length * TICKET_WINDOW;
    // The cache is written after every account, so an interrupted run resumes where it stopped;
    // BENCH_CACHED_ONLY=1 takes the tickets cached so far (whole accounts) without proving more.
    const requests: BenchRequest[] = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as BenchRequest[]) : [];
    if (requests.length >= total || (process.env.BENCH_CACHED_ONLY === "1" && requests.length > 0)) {
        log(`${requests.length} tickets from ${path.relative(ROOT, file)}`);
        return requests.slice(0, total);
    }
    if (requests.length > 0) log(`resuming: ${requests.length} of ${total} tickets cached in ${path.relative(ROOT, file)}`);
    const binding = bindingOf(deployment);
    const started = performance.now();
    mkdirSync(path.dirname(file), { recursive: true });
    for (let account = requests.length / TICKET_WINDOW; account < identities.length; account++) {
        const identity = identities[account]!;
        const leafIndex = sync.leafIndexOf(identity.commitment);
        if (leafIndex === undefined || !sync.inCurrentEpoch(identity.commitment)) throw new Error(`benchmark account ${account} is not in the current epoch tree`);
        const merkleProof = tree.merkleProof(leafIndex, TREE_DEPTH);
        const base = { base: GENESIS_BASE, blinding: baseBlinding(identity.secret, binding.scope, 0n) };
        for (let index = 0; index < TICKET_WINDOW; index++) {
            const i = BigInt(index);
            const signer = requestSigner(identity.secret, binding.scope, i);
            const x = ephemeralKeyBinding(signer.publicKey);
            const inputs = spendInputs({
                secret: identity.secret,
                deposit: BENCH_DEPOSIT,
                merkleProof,
                base,
                index: i,
                ticketBlinding: ticketBlinding(identity.secret, binding.scope, i),
                registry: binding,
                x
            });
            const { proof, publicSignals } = await prover("spend-32").prove(inputs);
            const [root, context, tx, ty, nullifier, y] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
            const body = benchBody(`${account}/${index}`);
            const header = encodeTicket({
                version: 2,
                root,
                context,
                ticketCommitment: [tx, ty],
                nullifier,
                y,
                x,
                proof: packProof(proof),
                ephemeralKey: signer.publicKey,
                requestSignature: signer.signMessage(requestHash("POST", BENCH_PATH, Buffer.from(body)))
            });
            requests.push({ account, index, body, header });
        }
        writeFileSync(`${file}.tmp`, JSON.stringify(requests));
        renameSync(`${file}.tmp`, file);
        log(`proved ${requests.length}/${total} tickets (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
    return requests;
}

/**
 * `count` junk tickets an attacker builds from public data alone: everything the gateway checks
 * before the proof is right (canonical envelope, context, x = Poseidon(epk), epk's signature of
 * the request, an accepted root), and the proof is three random group elements (A, C in G1, B in
 * G2), which pass the point and subgroup checks and fail the pairing.
 */
export async function junkRequests(deployment: RegistryDeployment, root: bigint, count: number): Promise<BenchRequest[]> {
    const curve = await getCurveFromName("bn128", true);
    try {
        const scalar = (): bigint => BigInt(`0x${randomBytes(32).toString("hex")}`) % SNARK_SCALAR_FIELD;
        const g1 = (): [bigint, bigint] => {
            const [x, y] = curve.G1.toObject(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.g, scalar())));
            return [x!, y!];
        };
        const field = (): bigint => scalar();
        const requests: BenchRequest[] = [];
        for (let i = 0; i < count; i++) {
            const [x2, y2] = curve.G2.toObject(curve.G2.toAffine(curve.G2.timesScalar(curve.G2.g, scalar())));
            const b = [x2![1]!, x2![0]!, y2![1]!, y2![0]!];
            const signer = new RequestKey(randomBytes(32));
            const body = benchBody(`junk ${i}`);
            const header = encodeTicket({
                version: 2,
                root,
                context: deployment.parameters.context,
                ticketCommitment: [field(), field()],
                nullifier: field(),
                y: field(),
                x: ephemeralKeyBinding(signer.publicKey),
                proof: [...g1(), ...b, ...g1()],
                ephemeralKey: signer.publicKey,
                requestSignature: signer.signMessage(requestHash("POST", BENCH_PATH, Buffer.from(body)))
            });
            requests.push({ account: -1, index: i, body, header });
        }
        return requests;
    } finally {
        await curve.terminate();
    }
}
