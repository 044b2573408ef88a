/**
 * Gas benchmark of the CreditRegistry from real transaction receipts on Hardhat's in-process
 * network, deployed with the Ignition module the tests use, with real Groth16 proofs.
 *
 *   npx hardhat run scripts/bench/gas.ts
 *
 * Env: BENCH_MEMBERS (registrations before the measured operations; default 10000; the 1st,
 *      1000th and BENCH_MEMBERS-th are measured), BENCH_GAS_REPEATS (samples of each operation, default 5).
 * Writes reports/bench/gas.json and reports/bench/gas.md.
 */
import { ethers, ignition, network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { BaseContract, ContractTransactionResponse } from "ethers";
import {
    GENESIS_STATE,
    Identity,
    randomFieldElement,
    randomScalar,
    registryContext,
    RegistryTree,
    slashInputs,
    slashReceiverBinding,
    spendInputs,
    withdrawInputs
} from "@zk-api-credits/protocol";
import type { AccountState, RegistryBinding, StateSignature } from "@zk-api-credits/protocol";
import LocalCreditRegistry from "../../deploy/modules/LocalCreditRegistry";
import type { CreditRegistry, SlashVerifier, SpendVerifier, TestToken, WithdrawVerifier } from "../../typechain-types";
import {
    BENCH_TERMS,
    BenchProvider,
    envInt,
    fmtInt,
    machineInfo,
    machineMarkdown,
    markdownTable,
    prover,
    solidityProof,
    stats,
    terminateCurve,
    textTable,
    writeReport
} from "./common";
import type { SolidityGroth16Proof, Stats } from "./common";

const DEPOSIT = 100_000n;
const CHALLENGE_WINDOW = 3_600n;
const DEPOSIT_TERM = 90n * 86_400n;
const TREE_DEPTH = 20n;
/** A state after some requests: spent and burned both non-zero, as in real use. */
const USED_STATE: AccountState = { spent: 12_345n, burned: 500n, seq: 7n };

/** Gas budget per call (register: at any member count). */
const TARGETS: Record<string, number> = {
    register: 100_000,
    slash: 230_000,
    requestWithdrawal: 260_000,
    challengeWithdrawal: 300_000,
    finalizeWithdrawal: 80_000
};

/** Order of the functions in the report. */
const FUNCTION_ORDER = ["register", "requestWithdrawal", "challengeWithdrawal", "finalizeWithdrawal", "slash", "claimExpired", "reportViolation", "sweep"];

const log = (message: string): void => console.log(`[gas] ${message}`);

interface Member {
    readonly identity: Identity;
    readonly leafIndex: number;
}

interface SignedState {
    readonly state: AccountState;
    readonly blinding: bigint;
    readonly signature?: StateSignature;
}

interface WithdrawalRequest {
    nullifier: bigint;
    recipient: string;
    spent: bigint;
    burned: bigint;
}

type ProofSample = [SolidityGroth16Proof, bigint[]];

/** One measured case: its function, what distinguishes it, and the gas of each transaction. */
interface GasCase {
    readonly fn: string;
    readonly label: string;
    readonly samples: number[];
}

class Bench {
    readonly cases: GasCase[] = [];
    /** Every registration in order, to rebuild the Poseidon tree off-chain like a client. */
    readonly leaves: { identityCommitment: bigint; deposit: bigint }[] = [];
    /** Every proof sent, with its public signals, for the bare verifier measurements. */
    readonly verifierProofs: Record<"spend" | "withdraw" | "slash", ProofSample[]> = { spend: [], withdraw: [], slash: [] };

    constructor(
        readonly registry: CreditRegistry,
        readonly token: TestToken,
        readonly verifiers: { spend: SpendVerifier; withdraw: WithdrawVerifier; slash: SlashVerifier },
        readonly provider: BenchProvider,
        readonly binding: RegistryBinding,
        readonly chainId: bigint,
        readonly funder: HardhatEthersSigner,
        readonly owner: HardhatEthersSigner
    ) {}

    record(fn: string, label: string, gas: number): void {
        let found = this.cases.find((c) => c.fn === fn && c.label === label);
        if (found === undefined) {
            found = { fn, label, samples: [] };
            this.cases.push(found);
        }
        found.samples.push(gas);
    }

    /** Sends a transaction, checks it succeeded, records and returns receipt.gasUsed. */
    async measure(fn: string, label: string, tx: Promise<ContractTransactionResponse>): Promise<number> {
        const receipt = await (await tx).wait();
        if (receipt === null || receipt.status !== 1) throw new Error(`${fn} (${label}) failed`);
        const gas = Number(receipt.gasUsed);
        this.record(fn, label, gas);
        return gas;
    }

    /** A member registered by the funder (who approved the registry once for everything). */
    async register(): Promise<Member> {
        const identity = new Identity();
        await (await this.registry.connect(this.funder).register(identity.commitment, DEPOSIT)).wait();
        this.leaves.push({ identityCommitment: identity.commitment, deposit: DEPOSIT });
        return { identity, leafIndex: this.leaves.length - 1 };
    }

    signed(member: Member, state: AccountState): SignedState {
        const blinding = randomScalar();
        const signature = state.seq === 0n ? undefined : this.provider.sign(state, member.identity.commitment, blinding);
        return { state, blinding, signature };
    }

    async withdrawal(member: Member, signed: SignedState, recipient: string): Promise<{ request: WithdrawalRequest; proof: SolidityGroth16Proof }> {
        const inputs = withdrawInputs({ secret: member.identity.secret, ...signed, registry: this.binding, recipient: BigInt(recipient) });
        const { proof, publicSignals } = await prover("withdraw").prove(inputs);
        const request = { nullifier: publicSignals[1]!, recipient, spent: signed.state.spent, burned: signed.state.burned };
        this.verifierProofs.withdraw.push([solidityProof(proof), publicSignals]);
        return { request, proof: solidityProof(proof) };
    }

    async requestWithdrawal(label: string, member: Member, signed: SignedState, recipient: string): Promise<WithdrawalRequest> {
        const { request, proof } = await this.withdrawal(member, signed, recipient);
        await this.measure("requestWithdrawal", label, this.registry.requestWithdrawal(member.identity.commitment, request, proof));
        return request;
    }

    async slashProof(member: Member, receiver: string): Promise<SolidityGroth16Proof> {
        const binding = slashReceiverBinding(this.chainId, await this.registry.getAddress(), receiver);
        const { proof, publicSignals } = await prover("slash").prove(slashInputs({ secret: member.identity.secret, receiverBinding: binding }));
        this.verifierProofs.slash.push([solidityProof(proof), publicSignals]);
        return solidityProof(proof);
    }

    /** A Spend proof of ticket `signed.state.seq`: its nullifier is that of a withdrawal of the same state. */
    async spendProof(member: Member, signed: SignedState, tree: RegistryTree) {
        const inputs = spendInputs({
            secret: member.identity.secret,
            deposit: DEPOSIT,
            merkleProof: tree.merkleProof(member.leafIndex, Number(TREE_DEPTH)),
            ...signed,
            rerandomiser: randomScalar(),
            registry: this.binding,
            x: randomFieldElement()
        });
        const { proof, publicSignals } = await prover("spend-20").prove(inputs);
        this.verifierProofs.spend.push([solidityProof(proof), publicSignals]);
        const [root, , cx, cy, , y, x] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
        return { signals: { root, rerandomisedStateX: cx, rerandomisedStateY: cy, y, x }, proof: solidityProof(proof) };
    }

    /** A fresh address that holds no tokens, or one that already holds some. */
    async recipient(funded: boolean): Promise<string> {
        const address = ethers.Wallet.createRandom().address;
        if (funded) await (await this.token.mint(address, 1_000n)).wait();
        return address;
    }
}

// ---------------------------------------------------------------- scenarios

interface RegistrationResult {
    /** receipt.gasUsed of the 1st, 1000th and last registration. */
    readonly measured: Record<number, number>;
    /** gasUsed − 21,000 − calldata of the same: what storage and code cost, without the random identity's zero bytes. */
    readonly execution: Record<number, number>;
    /** Execution gas of every 100th registration. */
    readonly sampledExecution: number[];
    readonly seconds: number;
}

/** `members` registrations as fast as possible, measuring the 1st, 1000th and last. */
async function registrations(bench: Bench, members: number): Promise<RegistrationResult> {
    const { registry, funder } = bench;
    const to = await registry.getAddress();
    const measuredAt = [...new Set([1, Math.min(1_000, members), members])];
    const measured: Record<number, number> = {};
    const execution: Record<number, number> = {};
    const sampledGas: number[] = [];
    const sampledExecution: number[] = [];
    const started = Date.now();
    for (let n = 1; n <= members; n++) {
        const identity = new Identity();
        const data = registry.interface.encodeFunctionData("register", [identity.commitment, DEPOSIT]);
        const hash = (await network.provider.request({
            method: "eth_sendTransaction",
            params: [{ from: funder.address, to, data, gas: "0x30d40" }]
        })) as string;
        bench.leaves.push({ identityCommitment: identity.commitment, deposit: DEPOSIT });
        if (measuredAt.includes(n) || n % 100 === 0) {
            const receipt = await ethers.provider.getTransactionReceipt(hash);
            if (receipt === null || receipt.status !== 1) throw new Error(`registration ${n} failed`);
            const gas = Number(receipt.gasUsed);
            const exec = gas - 21_000 - calldataGas(data);
            if (measuredAt.includes(n)) {
                measured[n] = gas;
                execution[n] = exec;
                bench.record("register", `${ordinal(n)} member (funder approved max once)`, gas);
            }
            if (n % 100 === 0) {
                sampledGas.push(gas);
                sampledExecution.push(exec);
            }
        }
        if (n % 2_000 === 0) log(`  ${fmtInt(n)} registrations (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    if (Number(await registry.leafCount()) !== bench.leaves.length) throw new Error("leaf count mismatch");
    for (const gas of sampledGas) bench.record("register", `every 100th member up to the ${ordinal(members)}`, gas);
    return { measured, execution, sampledExecution, seconds: (Date.now() - started) / 1000 };
}

function ordinal(n: number): string {
    const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
    return `${fmtInt(n)}${suffix}`;
}

/** Registrations by fresh users who approve exactly their deposit (allowance and balance go to zero). */
async function freshUserRegistrations(bench: Bench, users: HardhatEthersSigner[]): Promise<void> {
    const address = await bench.registry.getAddress();
    for (const user of users) {
        const identity = new Identity();
        await (await bench.token.mint(user.address, DEPOSIT)).wait();
        await (await bench.token.connect(user).approve(address, DEPOSIT)).wait();
        await bench.measure("register", "fresh user, exact approval", bench.registry.connect(user).register(identity.commitment, DEPOSIT));
        bench.leaves.push({ identityCommitment: identity.commitment, deposit: DEPOSIT });
    }
}

async function withdrawals(bench: Bench, repeats: number): Promise<void> {
    const { registry } = bench;
    type Pending = { member: Member; request: WithdrawalRequest; label: string };
    const pending: Pending[] = [];
    const groups = [
        { state: GENESIS_STATE, request: "genesis state", funded: false, finalize: "genesis state (nothing spent), recipient with zero balance" },
        { state: USED_STATE, request: "signed state", funded: false, finalize: "recipient with zero token balance" },
        { state: USED_STATE, request: "signed state", funded: true, finalize: "recipient holding tokens" }
    ];
    for (const group of groups) {
        log(`requestWithdrawal: ${repeats} × ${group.request}`);
        for (let i = 0; i < repeats; i++) {
            const member = await bench.register();
            const recipient = await bench.recipient(group.funded);
            pending.push({ member, request: await bench.requestWithdrawal(group.request, member, bench.signed(member, group.state), recipient), label: group.finalize });
        }
    }

    // Stale withdrawals: the member spent the ticket of the state it withdraws with.
    log(`challengeWithdrawal: ${repeats} × (withdrawal of a signed state + Spend proof of its ticket)`);
    const challenged: { member: Member; signed: SignedState; request: WithdrawalRequest }[] = [];
    for (let i = 0; i < repeats; i++) {
        const member = await bench.register();
        const signed = bench.signed(member, USED_STATE);
        challenged.push({ member, signed, request: await bench.requestWithdrawal("signed state", member, signed, await bench.recipient(false)) });
    }
    const tree = new RegistryTree();
    tree.insertMany(bench.leaves);
    for (const { member, signed, request } of challenged) {
        const { signals, proof } = await bench.spendProof(member, signed, tree);
        await bench.measure("challengeWithdrawal", "stale signed state", registry.challengeWithdrawal(member.identity.commitment, request, signals, proof));
    }

    await time.increase(CHALLENGE_WINDOW);
    log("finalizeWithdrawal and sweep");
    let swept = false;
    for (const { member, request, label } of pending) {
        await bench.measure("finalizeWithdrawal", label, registry.finalizeWithdrawal(member.identity.commitment, request));
        if (request.spent > 0n) {
            const sweepLabel = swept ? "subsequent (treasury and burn address hold tokens)" : "first (treasury and burn address hold no tokens)";
            await bench.measure("sweep", sweepLabel, registry.sweep());
            swept = true;
        }
    }
}

async function slashes(bench: Bench, repeats: number): Promise<void> {
    for (const funded of [false, true]) {
        const label = funded ? "receiver holding tokens" : "receiver with zero token balance";
        log(`slash: ${repeats} × ${label}`);
        for (let i = 0; i < repeats; i++) {
            const member = await bench.register();
            const receiver = await bench.recipient(funded);
            const proof = await bench.slashProof(member, receiver);
            await bench.measure("slash", label, bench.registry.slash(member.identity.commitment, receiver, proof));
        }
    }
}

async function violations(bench: Bench, repeats: number): Promise<void> {
    const registry = bench.registry.connect(bench.owner);
    for (let i = 0; i <= repeats; i++) {
        const label = i === 0 ? "first report (count 0 → 1)" : "subsequent report";
        await bench.measure("reportViolation", label, registry.reportViolation(randomFieldElement(), ethers.hexlify(ethers.randomBytes(32))));
    }
}

async function expiries(bench: Bench, repeats: number): Promise<void> {
    const members: Member[] = [];
    for (let i = 0; i < repeats; i++) members.push(await bench.register());
    await time.increase(DEPOSIT_TERM);
    for (const member of members) await bench.measure("claimExpired", "active deposit past its term", bench.registry.claimExpired(member.identity.commitment));
}

/** Gas of a transaction calling verifyProof, by estimateGas, against the Groth16 floor. */
async function verifierFloor(bench: Bench): Promise<VerifierResult[]> {
    const results: VerifierResult[] = [];
    // The three verifiers differ only in the length of the public signals array.
    const entries: [string, BaseContract, ProofSample[]][] = [
        ["SpendVerifier", bench.verifiers.spend, bench.verifierProofs.spend],
        ["WithdrawVerifier", bench.verifiers.withdraw, bench.verifierProofs.withdraw],
        ["SlashVerifier", bench.verifiers.slash, bench.verifierProofs.slash]
    ];
    for (const [name, verifier, proofs] of entries) {
        const to = await verifier.getAddress();
        const estimates: number[] = [];
        const calldata: number[] = [];
        for (const [proof, signals] of proofs) {
            const data = verifier.interface.encodeFunctionData("verifyProof", [proof.a, proof.b, proof.c, signals]);
            const [valid] = verifier.interface.decodeFunctionResult("verifyProof", await ethers.provider.call({ to, data }));
            if (valid !== true) throw new Error(`${name} rejected a proof`);
            estimates.push(Number(await ethers.provider.estimateGas({ to, data })));
            calldata.push(calldataGas(data));
        }
        const publicInputs = proofs[0]![1].length;
        const floor = 21_000 + 181_000 + 6_150 * publicInputs;
        results.push({ verifier: name, publicInputs, estimateGas: stats(estimates), calldataGas: stats(calldata), floor, samples: estimates });
    }
    return results;
}

/** Intrinsic calldata cost: 4 gas per zero byte, 16 per non-zero byte. */
function calldataGas(data: string): number {
    const bytes = ethers.getBytes(data);
    return bytes.reduce((sum, b) => sum + (b === 0 ? 4 : 16), 0);
}

interface VerifierResult {
    readonly verifier: string;
    readonly publicInputs: number;
    readonly estimateGas: Stats;
    readonly calldataGas: Stats;
    /** 21k intrinsic + 181k for the 4-pairing check + 6.15k per public input (ecMul + ecAdd). */
    readonly floor: number;
    readonly samples: number[];
}

// ---------------------------------------------------------------- report

interface CaseResult {
    readonly fn: string;
    readonly label: string;
    readonly gas: Stats;
    readonly samples: number[];
    readonly target?: number;
    readonly met?: boolean;
}

function verdict(gas: number, target: number | undefined): string {
    if (target === undefined) return "–";
    const delta = gas - target;
    return delta <= 0 ? `met (${fmtInt(-delta)} under)` : `MISSED (${fmtInt(delta)} over)`;
}

function range(s: Stats): string {
    return s.spread === 0 ? "no spread" : `${fmtInt(s.min)}–${fmtInt(s.max)} (${fmtInt(s.spread)})`;
}

function report(
    cases: CaseResult[],
    verifiers: VerifierResult[],
    registration: RegistrationResult,
    members: number,
    repeats: number
): void {
    const machine = machineInfo();
    const headers = ["function", "case", "gas (median)", "n", "min–max (spread)", "target", "verdict"];
    const rows = cases.map((c) => [
        c.fn,
        c.label,
        fmtInt(c.gas.median),
        String(c.gas.n),
        range(c.gas),
        c.target === undefined ? "–" : `≤ ${fmtInt(c.target)}`,
        verdict(c.gas.max, c.target)
    ]);
    const vHeaders = ["verifier", "public inputs", "estimateGas (median)", "min–max", "floor 21k+181k+6.15k·n", "above floor", "of which calldata"];
    const vRows = verifiers.map((v) => [
        v.verifier,
        String(v.publicInputs),
        fmtInt(v.estimateGas.median),
        range(v.estimateGas),
        fmtInt(v.floor),
        fmtInt(v.estimateGas.median - v.floor),
        fmtInt(v.calldataGas.median)
    ]);
    const at = (values: Record<number, number>): string =>
        Object.entries(values)
            .map(([n, gas]) => `${ordinal(Number(n))} ${fmtInt(gas)}`)
            .join(", ");
    const sampled = registration.sampledExecution.length > 0 ? stats(registration.sampledExecution) : undefined;
    const reference = Math.min(1_000, members);
    const flatFrom = registration.execution[reference] === registration.execution[members] && (sampled?.spread ?? 0) === 0;
    const flat =
        `Registration gasUsed: ${at(registration.measured)}; execution (gasUsed − 21,000 − calldata): ${at(registration.execution)}` +
        (sampled ? `, every 100th ${range(sampled)}` : "") +
        ` — ${flatFrom ? "flat" : "NOT flat"} from the ${ordinal(reference)} to the ${ordinal(members)} member ` +
        `(${fmtInt(members)} registrations took ${registration.seconds.toFixed(0)} s).`;
    const note =
        "Verdicts compare the largest sample with the target. Gas from `receipt.gasUsed` of real transactions (Hardhat in-process network, cancun, " +
        `solc 0.8.28 with 10,000 optimizer runs) with real proofs; ${repeats} samples per operation after ${fmtInt(members)} registrations. ` +
        "Spreads are multiples of 12 gas: each zero byte of a random identity, nullifier or proof in the calldata costs 4 gas instead of 16.";

    console.log(`\n${textTable(headers, rows)}\n\n${flat}\n\n${textTable(vHeaders, vRows)}\n`);
    const markdown = [
        "## Gas",
        "",
        machineMarkdown(machine),
        "",
        note,
        "",
        markdownTable(headers, rows),
        "",
        flat,
        "",
        "### Bare Groth16 verification",
        "",
        "`estimateGas` of a transaction calling `verifyProof` with a valid proof (includes the 21,000 intrinsic gas and the calldata).",
        "",
        markdownTable(vHeaders, vRows),
        ""
    ].join("\n");
    const files = writeReport("gas", { machine, members, repeats, registration, cases, verifiers }, markdown);
    log(`wrote ${files.json} and ${files.md}`);
}

async function main(): Promise<void> {
    const members = envInt("BENCH_MEMBERS", 10_000);
    const repeats = envInt("BENCH_GAS_REPEATS", 5);
    const [, owner, treasury, funder, ...users] = await ethers.getSigners();
    const provider = new BenchProvider();
    const deployed = await ignition.deploy(LocalCreditRegistry, {
        parameters: {
            LocalCreditRegistry: {
                treasury: treasury!.address,
                providerKeyX: provider.publicKey[0],
                providerKeyY: provider.publicKey[1],
                maxCost: BENCH_TERMS.maxCost,
                policyPenalty: BENCH_TERMS.policyPenalty,
                reserveBps: BENCH_TERMS.reserveBps,
                challengeWindow: CHALLENGE_WINDOW,
                depositTerm: DEPOSIT_TERM,
                treeDepth: TREE_DEPTH,
                owner: owner!.address
            }
        }
    });
    const registry = deployed.registry as unknown as CreditRegistry;
    const token = deployed.token as unknown as TestToken;
    const verifiers = {
        spend: deployed.spendVerifier as unknown as SpendVerifier,
        withdraw: deployed.withdrawVerifier as unknown as WithdrawVerifier,
        slash: deployed.slashVerifier as unknown as SlashVerifier
    };
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const binding = provider.binding(chainId, await registry.getAddress());
    if ((await registry.context()) !== registryContext(binding)) {
        throw new Error("the registry's context differs from the protocol package's");
    }
    const bench = new Bench(registry, token, verifiers, provider, binding, chainId, funder!, owner!);

    // One funded account: mint once (with room for every later registration), approve max once.
    await (await token.mint(funder!.address, DEPOSIT * BigInt(members + 100 * repeats))).wait();
    await (await token.connect(funder!).approve(await registry.getAddress(), ethers.MaxUint256)).wait();
    log(`registering ${fmtInt(members)} members`);
    const registration = await registrations(bench, members);
    await freshUserRegistrations(bench, users.slice(0, repeats));

    await withdrawals(bench, repeats);
    await slashes(bench, repeats);
    await violations(bench, repeats);
    await expiries(bench, repeats);
    log("verifyProof estimates");
    const verifierResults = await verifierFloor(bench);

    const order = (fn: string): number => FUNCTION_ORDER.indexOf(fn);
    const sorted = [...bench.cases].sort((a, b) => order(a.fn) - order(b.fn));
    const cases: CaseResult[] = sorted.map((c) => {
        const gas = stats(c.samples);
        const target = TARGETS[c.fn];
        return { fn: c.fn, label: c.label, gas, samples: c.samples, target, met: target === undefined ? undefined : gas.max <= target };
    });
    report(cases, verifierResults, registration, members, repeats);
}

main()
    .then(terminateCurve)
    .then(() => process.exit(0))
    .catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
