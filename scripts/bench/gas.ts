/**
 * Gas benchmark of the CreditRegistry (protocol v2) from real transaction receipts on Hardhat's
 * in-process network, deployed with the Ignition modules the tests use, with real Groth16 proofs
 * of the committed circuits (Spend(32, 8), Fold(2), Withdraw(2, 8), Slash).
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
    baseBlinding,
    chargePoint,
    commitBase,
    commitTicket,
    ephemeralKeyBinding,
    foldBase,
    foldInputs,
    foldPublicSignals,
    GENESIS_BASE,
    Identity,
    randomFieldElement,
    registryContext,
    registryScope,
    RegistryTree,
    requestSigner,
    slashInputs,
    slashReceiverBinding,
    spendInputs,
    TICKET_WINDOW,
    ticketBlinding,
    TREE_DEPTH,
    withdrawalClaim,
    withdrawInputs
} from "@zk-api-credits/protocol";
import type { BaseState, ChargeAmounts, CircuitInputs, RegistryBinding, SignedBase, SignedCharge } from "@zk-api-credits/protocol";
import CreditRegistryModule from "../../deploy/modules/CreditRegistry";
import LocalCreditRegistry from "../../deploy/modules/LocalCreditRegistry";
import type { BlocklistToken, CreditRegistry, FoldVerifier, SlashVerifier, SpendVerifier, TestToken, WithdrawVerifier } from "../../typechain-types";
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
import type { CircuitName, SolidityGroth16Proof, Stats } from "./common";

const TERMS = BENCH_TERMS;
const DEPOSIT = 100_000n;
const CHALLENGE_WINDOW = 3_600n;
const DEPOSIT_TERM = 90n * 86_400n;
/** An account after some requests: charges of tickets 0 … 4, bases 0, 2, 4 signed, charge 4 held. */
const HISTORY: ChargeAmounts[] = [
    { cost: 1_000n, penalty: 0n },
    { cost: 250n, penalty: 500n },
    { cost: 999n, penalty: 0n },
    { cost: 1n, penalty: 0n },
    { cost: 700n, penalty: 500n }
];
const ALL_SLOTS = [0, 1, 2, 3, 4, 5, 6, 7];

/** Gas budget per call (register: at any member count). */
const TARGETS: Record<string, number> = {
    register: 100_000,
    requestWithdrawal: 330_000
};

/** v1 figures (docs/gas.md before v2, same network and compiler), for the comparison column. */
const V1: Record<string, string> = {
    register: "97,629",
    requestWithdrawal: "287,128",
    challengeStaleBase: "278,845 (challengeWithdrawal)",
    challengeUndeclaredTicket: "278,845 (challengeWithdrawal)",
    finalizeWithdrawal: "73,202",
    slash: "273,498",
    claimExpired: "35,854",
    reportViolation: "53,969",
    sweep: "52,822"
};

/** Order of the functions in the report. */
const FUNCTION_ORDER = [
    "register",
    "requestWithdrawal",
    "challengeStaleBase",
    "challengeUndeclaredTicket",
    "challengeDisclosure",
    "finalizeWithdrawal",
    "claimRefund",
    "slash",
    "slashWithdrawal",
    "claimExpired",
    "reportViolation",
    "sweep"
];

const log = (message: string): void => console.log(`[gas] ${message}`);

/** Signs bases and charges as the gateway does, with the benchmark provider's key. */
class Provider {
    constructor(readonly key: BenchProvider) {}

    get publicKey() {
        return this.key.publicKey;
    }

    signBase(binding: RegistryBinding, identity: Identity, base: BaseState): SignedBase {
        const blinding = baseBlinding(identity.secret, binding.scope, base.folded);
        if (base.folded === 0n) return { base, blinding };
        const commitment = commitBase(base, identity.commitment, blinding);
        return { base, blinding, signature: this.key.signer.signBase(registryContext(binding), commitment) };
    }

    charge(binding: RegistryBinding, identity: Identity, index: bigint, amounts: ChargeAmounts): SignedCharge {
        const blinding = ticketBlinding(identity.secret, binding.scope, index);
        const ticket = commitTicket(index, identity.commitment, blinding);
        return { ...amounts, blinding, signature: this.key.signer.signCharge(registryContext(binding), chargePoint(ticket, amounts.cost, amounts.penalty)) };
    }
}

interface Member {
    readonly identity: Identity;
    readonly leafIndex: number;
}

interface WithdrawalRequest {
    recipient: string;
    spent: bigint;
    burned: bigint;
    declaredSlots: bigint;
    foldNullifier: bigint;
    slotNullifiersHash: bigint;
    slotNullifiers: bigint[];
}

type ProofSample = [SolidityGroth16Proof, bigint[]];
type VerifierName = "spend" | "fold" | "withdraw" | "slash";

/** One measured case: its function, what distinguishes it, and the gas of each transaction. */
interface GasCase {
    readonly fn: string;
    readonly label: string;
    readonly samples: number[];
}

/** One registry under measurement, with its token, provider binding and member list. */
class Bench {
    readonly leaves: { identityCommitment: bigint; deposit: bigint }[] = [];
    readonly binding: RegistryBinding;

    constructor(
        readonly results: Results,
        readonly registry: CreditRegistry,
        readonly registryAddress: string,
        readonly token: TestToken,
        readonly provider: Provider,
        readonly chainId: bigint,
        readonly funder: HardhatEthersSigner
    ) {
        this.binding = { scope: registryScope(chainId, registryAddress), providerKey: provider.publicKey, terms: TERMS };
    }

    /** Sends a transaction, checks it succeeded, records and returns receipt.gasUsed. */
    async measure(fn: string, label: string, tx: Promise<ContractTransactionResponse>): Promise<number> {
        const receipt = await (await tx).wait();
        if (receipt === null || receipt.status !== 1) throw new Error(`${fn} (${label}) failed`);
        const gas = Number(receipt.gasUsed);
        this.results.record(fn, label, gas);
        return gas;
    }

    /** A member registered by the funder (who approved the registry once for everything). */
    async register(): Promise<Member> {
        const identity = new Identity();
        await (await this.registry.connect(this.funder).register(identity.commitment, DEPOSIT)).wait();
        this.leaves.push({ identityCommitment: identity.commitment, deposit: DEPOSIT });
        return { identity, leafIndex: this.leaves.length - 1 };
    }

    async prove(name: CircuitName, verifier: VerifierName, inputs: CircuitInputs): Promise<ProofSample> {
        const { proof, publicSignals } = await prover(name).prove(inputs);
        const sample: ProofSample = [solidityProof(proof), publicSignals];
        this.results.verifierProofs[verifier].push(sample);
        return sample;
    }

    /** Base 4 of the history (tickets 0–3 folded) and the held charge of ticket 4. */
    history(member: Member): { base2: SignedBase; base4: SignedBase; charges: SignedCharge[] } {
        const charges = HISTORY.map((a, i) => this.provider.charge(this.binding, member.identity, BigInt(i), a));
        return {
            base2: this.provider.signBase(this.binding, member.identity, foldBase(GENESIS_BASE, HISTORY.slice(0, 2))),
            base4: this.provider.signBase(this.binding, member.identity, foldBase(GENESIS_BASE, HISTORY.slice(0, 4))),
            charges
        };
    }

    async withdrawal(member: Member, base: SignedBase, held: SignedCharge[], declared: number[], recipient: string): Promise<{ request: WithdrawalRequest; proof: SolidityGroth16Proof }> {
        const witness = {
            secret: member.identity.secret,
            base,
            charges: held,
            declared: Array.from({ length: TICKET_WINDOW }, (_, j) => declared.includes(j)),
            registry: this.binding,
            recipient: BigInt(recipient)
        };
        const [proof] = await this.prove("withdraw-2-8", "withdraw", withdrawInputs(witness));
        const claim = withdrawalClaim(witness);
        const request: WithdrawalRequest = {
            recipient,
            spent: claim.spent,
            burned: claim.burned,
            declaredSlots: BigInt(claim.declaredSlots),
            foldNullifier: claim.foldNullifier,
            slotNullifiersHash: claim.slotNullifiersHash,
            slotNullifiers: [...claim.slotNullifiers]
        };
        return { request, proof };
    }

    /** Requests a withdrawal of the history's effective base 5 (base 4 + charge 4) declaring `declared`. */
    async requestWithdrawal(label: string, member: Member, declared: number[], recipient: string): Promise<WithdrawalRequest> {
        const { base4, charges } = this.history(member);
        const { request, proof } = await this.withdrawal(member, base4, charges.slice(4), declared, recipient);
        await this.measure("requestWithdrawal", label, this.registry.requestWithdrawal(member.identity.commitment, request, proof));
        return request;
    }

    async slashProof(member: Member, receiver: string): Promise<SolidityGroth16Proof> {
        const receiverBinding = slashReceiverBinding(this.chainId, this.registryAddress, receiver);
        return (await this.prove("slash", "slash", slashInputs({ secret: member.identity.secret, receiverBinding })))[0];
    }

    /** A fresh address that holds no tokens, or one that already holds some. */
    async recipient(funded: boolean): Promise<string> {
        const address = ethers.Wallet.createRandom().address;
        if (funded) await (await this.token.mint(address, 1_000n)).wait();
        return address;
    }
}

/** Every measurement of the run. */
class Results {
    readonly cases: GasCase[] = [];
    readonly verifierProofs: Record<VerifierName, ProofSample[]> = { spend: [], fold: [], withdraw: [], slash: [] };

    record(fn: string, label: string, gas: number): void {
        let found = this.cases.find((c) => c.fn === fn && c.label === label);
        if (found === undefined) {
            found = { fn, label, samples: [] };
            this.cases.push(found);
        }
        found.samples.push(gas);
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
            params: [{ from: funder.address, to: bench.registryAddress, data, gas: "0x30d40" }]
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
                bench.results.record("register", `${ordinal(n)} member (funder approved max once)`, gas);
            }
            if (n % 100 === 0) {
                sampledGas.push(gas);
                sampledExecution.push(exec);
            }
        }
        if (n % 2_000 === 0) log(`  ${fmtInt(n)} registrations (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    if (Number(await registry.leafCount()) !== bench.leaves.length) throw new Error("leaf count mismatch");
    for (const gas of sampledGas) bench.results.record("register", `every 100th member up to the ${ordinal(members)}`, gas);
    return { measured, execution, sampledExecution, seconds: (Date.now() - started) / 1000 };
}

function ordinal(n: number): string {
    const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
    return `${fmtInt(n)}${suffix}`;
}

/** Registrations by fresh users who approve exactly their deposit (allowance and balance go to zero). */
async function freshUserRegistrations(bench: Bench, users: HardhatEthersSigner[]): Promise<void> {
    for (const user of users) {
        const identity = new Identity();
        await (await bench.token.mint(user.address, DEPOSIT)).wait();
        await (await bench.token.connect(user).approve(bench.registryAddress, DEPOSIT)).wait();
        await bench.measure("register", "fresh user, exact approval", bench.registry.connect(user).register(identity.commitment, DEPOSIT));
        bench.leaves.push({ identityCommitment: identity.commitment, deposit: DEPOSIT });
    }
}

/** requestWithdrawal (no slot and eight slots declared), finalizeWithdrawal of each, and sweeps. */
async function withdrawals(bench: Bench, repeats: number): Promise<void> {
    type Pending = { member: Member; request: WithdrawalRequest; label: string };
    const pending: Pending[] = [];
    const groups = [
        { declared: [] as number[], request: "no slot declared", funded: false, finalize: "recipient with zero token balance" },
        { declared: [] as number[], request: "no slot declared", funded: true, finalize: "recipient holding tokens" },
        { declared: ALL_SLOTS, request: "8 slots declared", funded: false, finalize: "8 declared slots, recipient with zero token balance" }
    ];
    for (const group of groups) {
        log(`requestWithdrawal: ${repeats} × ${group.request}`);
        for (let i = 0; i < repeats; i++) {
            const member = await bench.register();
            const recipient = await bench.recipient(group.funded);
            pending.push({ member, request: await bench.requestWithdrawal(group.request, member, group.declared, recipient), label: group.finalize });
        }
    }
    await time.increase(CHALLENGE_WINDOW);
    log("finalizeWithdrawal and sweep");
    let swept = false;
    for (const { member, request, label } of pending) {
        await bench.measure("finalizeWithdrawal", label, bench.registry.finalizeWithdrawal(member.identity.commitment, request));
        const sweepLabel = swept ? "subsequent (treasury and burn address hold tokens)" : "first (treasury and burn address hold no tokens)";
        await bench.measure("sweep", sweepLabel, bench.registry.sweep());
        swept = true;
    }
}

/** Each challenge kind, on withdrawals that are stale, hide a used ticket, or disguise their disclosure. */
async function challenges(bench: Bench, repeats: number): Promise<void> {
    const { registry } = bench;
    log(`challenges: ${repeats} × each kind`);
    type Stale = { member: Member; request: WithdrawalRequest; newBase: [bigint, bigint]; fold: SolidityGroth16Proof };
    type Hidden = { member: Member; request: WithdrawalRequest };
    const stale: Stale[] = [];
    const hidden: Hidden[] = [];
    const disguised: Hidden[] = [];
    for (let i = 0; i < repeats; i++) {
        // Stale: base 2 was folded into base 4 (the gateway holds the Fold proof); the user withdraws from base 2.
        const member = await bench.register();
        const { base2, charges } = bench.history(member);
        const foldWitness = {
            secret: member.identity.secret,
            base: base2,
            charges: charges.slice(2, 4),
            newBlinding: baseBlinding(member.identity.secret, bench.binding.scope, 4n),
            registry: bench.binding
        };
        const [fold] = await bench.prove("fold-2", "fold", foldInputs(foldWitness));
        const { newBase } = foldPublicSignals(foldWitness);
        const { request, proof } = await bench.withdrawal(member, base2, [], [], await bench.recipient(false));
        await (await registry.requestWithdrawal(member.identity.commitment, request, proof)).wait();
        stale.push({ member, request, newBase: [newBase[0], newBase[1]], fold });

        // Hidden: ticket 5 was used; the withdrawal discloses its nullifier in slot 0.
        const user = await bench.register();
        const made = await bench.withdrawal(user, bench.history(user).base4, bench.history(user).charges.slice(4), [], await bench.recipient(false));
        await (await registry.requestWithdrawal(user.identity.commitment, made.request, made.proof)).wait();
        hidden.push({ member: user, request: made.request });

        // Disguised: the published list does not hash to the proof's.
        const liar = await bench.register();
        const lie = await bench.withdrawal(liar, bench.history(liar).base4, bench.history(liar).charges.slice(4), [], await bench.recipient(false));
        lie.request.slotNullifiers[3] = lie.request.slotNullifiers[3]! + 1n;
        await (await registry.requestWithdrawal(liar.identity.commitment, lie.request, lie.proof)).wait();
        disguised.push({ member: liar, request: lie.request });
    }
    const tree = new RegistryTree();
    tree.insertMany(bench.leaves);
    for (const { member, request, newBase, fold } of stale) {
        await bench.measure("challengeStaleBase", "Fold proof of the claimed base", registry.challengeStaleBase(member.identity.commitment, request, newBase, fold));
    }
    for (const { member, request } of hidden) {
        const inputs = spendInputs({
            secret: member.identity.secret,
            deposit: DEPOSIT,
            merkleProof: tree.merkleProof(member.leafIndex, TREE_DEPTH),
            base: bench.history(member).base4,
            index: 5n,
            ticketBlinding: ticketBlinding(member.identity.secret, bench.binding.scope, 5n),
            registry: bench.binding,
            x: ephemeralKeyBinding(requestSigner(member.identity.secret, bench.binding.scope, 5n).publicKey)
        });
        const [proof, signals] = await bench.prove("spend-32", "spend", inputs);
        const spend = { root: signals[0]!, ticketX: signals[2]!, ticketY: signals[3]!, y: signals[5]!, x: signals[6]! };
        await bench.measure("challengeUndeclaredTicket", "Spend proof of a disclosed slot", registry.challengeUndeclaredTicket(member.identity.commitment, request, 0, spend, proof));
    }
    for (const { member, request } of disguised) {
        await bench.measure("challengeDisclosure", "Poseidon of the 8 disclosed nullifiers", registry.challengeDisclosure(member.identity.commitment, request));
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
    log(`slashWithdrawal: ${repeats}`);
    for (let i = 0; i < repeats; i++) {
        const member = await bench.register();
        const { base4, charges } = bench.history(member);
        const { request, proof } = await bench.withdrawal(member, base4, charges.slice(4), [], await bench.recipient(false));
        await (await bench.registry.requestWithdrawal(member.identity.commitment, request, proof)).wait();
        const receiver = await bench.recipient(false);
        await bench.measure("slashWithdrawal", "no bounty, burned to the burn address", bench.registry.slashWithdrawal(member.identity.commitment, request, receiver, await bench.slashProof(member, receiver)));
    }
}

async function violations(bench: Bench, owner: HardhatEthersSigner, repeats: number): Promise<void> {
    const registry = bench.registry.connect(owner);
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

/** finalizeWithdrawal whose refund the token refuses (deferred), and claimRefund once it accepts: a BlocklistToken registry. */
async function deferredRefunds(bench: Bench, blocklist: BlocklistToken, repeats: number): Promise<void> {
    log(`finalizeWithdrawal (refund deferred) and claimRefund: ${repeats} each, BlocklistToken registry`);
    const pending: { member: Member; request: WithdrawalRequest; paid: boolean }[] = [];
    for (const paid of [true, false]) {
        for (let i = 0; i < repeats; i++) {
            const member = await bench.register();
            const recipient = await bench.recipient(false);
            pending.push({ member, paid, request: await bench.requestWithdrawal("no slot declared (BlocklistToken)", member, [], recipient) });
        }
    }
    await time.increase(CHALLENGE_WINDOW);
    for (const { member, request, paid } of pending) {
        if (!paid) await (await blocklist.setBlocked(request.recipient, true)).wait();
        const label = paid ? "BlocklistToken, recipient with zero token balance (paid)" : "BlocklistToken, token refuses the recipient (refund deferred)";
        await bench.measure("finalizeWithdrawal", label, bench.registry.finalizeWithdrawal(member.identity.commitment, request));
    }
    for (const { request, paid } of pending) {
        if (paid) continue;
        await (await blocklist.setBlocked(request.recipient, false)).wait();
        await bench.measure("claimRefund", "BlocklistToken, recipient with zero token balance", bench.registry.claimRefund(request.recipient));
    }
}

/** Gas of a transaction calling verifyProof, by estimateGas, against the Groth16 floor. */
async function verifierFloor(results: Results, verifiers: Record<VerifierName, BaseContract>): Promise<VerifierResult[]> {
    const out: VerifierResult[] = [];
    const names: Record<VerifierName, string> = { spend: "SpendVerifier", fold: "FoldVerifier", withdraw: "WithdrawVerifier", slash: "SlashVerifier" };
    for (const key of ["spend", "fold", "withdraw", "slash"] as const) {
        const verifier = verifiers[key];
        const proofs = results.verifierProofs[key];
        const to = await verifier.getAddress();
        const estimates: number[] = [];
        const calldata: number[] = [];
        for (const [proof, signals] of proofs) {
            const data = verifier.interface.encodeFunctionData("verifyProof", [proof.a, proof.b, proof.c, signals]);
            const [valid] = verifier.interface.decodeFunctionResult("verifyProof", await ethers.provider.call({ to, data }));
            if (valid !== true) throw new Error(`${names[key]} rejected a proof`);
            estimates.push(Number(await ethers.provider.estimateGas({ to, data })));
            calldata.push(calldataGas(data));
        }
        const publicInputs = proofs[0]![1].length;
        const floor = 21_000 + 181_000 + 6_150 * publicInputs;
        out.push({ verifier: names[key], publicInputs, estimateGas: stats(estimates), calldataGas: stats(calldata), floor, samples: estimates });
    }
    return out;
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
    readonly v1?: string;
}

/** The cost of filling the 2^32 leaves of the tree at the measured registration gas. */
interface FillCost {
    readonly registerGas: number;
    readonly leaves: string;
    readonly totalGas: string;
    readonly ethAt1Gwei: string;
    readonly ethAt001Gwei: string;
}

function fillCost(registerGas: number): FillCost {
    const leaves = 1n << 32n;
    const total = BigInt(registerGas) * leaves;
    const eth = (gweiHundredths: bigint): string => {
        // total gas × price (in hundredths of a gwei) / 100 / 1e9, in ETH with two decimals.
        const hundredthsOfEth = (total * gweiHundredths) / 10n ** 9n;
        return `${fmtInt(hundredthsOfEth / 100n)}.${String(hundredthsOfEth % 100n).padStart(2, "0")}`;
    };
    return { registerGas, leaves: leaves.toString(), totalGas: total.toString(), ethAt1Gwei: eth(100n), ethAt001Gwei: eth(1n) };
}

function verdict(gas: number, target: number | undefined): string {
    if (target === undefined) return "–";
    const delta = gas - target;
    return delta <= 0 ? `met (${fmtInt(-delta)} under)` : `MISSED (${fmtInt(delta)} over)`;
}

function range(s: Stats): string {
    return s.spread === 0 ? "no spread" : `${fmtInt(s.min)}–${fmtInt(s.max)} (${fmtInt(s.spread)})`;
}

function report(cases: CaseResult[], verifiers: VerifierResult[], registration: RegistrationResult, fill: FillCost, members: number, repeats: number): void {
    const machine = machineInfo();
    const headers = ["function", "case", "gas (median)", "n", "min–max (spread)", "v1", "target", "verdict"];
    const rows = cases.map((c) => [
        c.fn,
        c.label,
        fmtInt(c.gas.median),
        String(c.gas.n),
        range(c.gas),
        c.v1 ?? "–",
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
    const fillLine =
        `Filling the tree: 2^32 registrations × ${fmtInt(fill.registerGas)} gas = ${fmtInt(BigInt(fill.totalGas))} gas: ` +
        `${fill.ethAt1Gwei} ETH at 1 gwei, ${fill.ethAt001Gwei} ETH at 0.01 gwei.`;
    const note =
        "Verdicts compare the largest sample with the target. Gas from `receipt.gasUsed` of real transactions (Hardhat in-process network, cancun, " +
        `solc 0.8.28 with 10,000 optimizer runs) with real proofs; ${repeats} samples per operation after ${fmtInt(members)} registrations. ` +
        "Spreads are multiples of 12 gas: each zero byte of a random identity, nullifier or proof in the calldata costs 4 gas instead of 16.";

    console.log(`\n${textTable(headers, rows)}\n\n${flat}\n${fillLine}\n\n${textTable(vHeaders, vRows)}\n`);
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
        fillLine,
        "",
        "### Bare Groth16 verification",
        "",
        "`estimateGas` of a transaction calling `verifyProof` with a valid proof (includes the 21,000 intrinsic gas and the calldata).",
        "",
        markdownTable(vHeaders, vRows),
        ""
    ].join("\n");
    const files = writeReport("gas", { machine, members, repeats, registration, fill, cases, verifiers }, markdown);
    log(`wrote ${files.json} and ${files.md}`);
}

async function main(): Promise<void> {
    const members = envInt("BENCH_MEMBERS", 10_000);
    const repeats = envInt("BENCH_GAS_REPEATS", 5);
    const [, owner, treasury, funder, ...users] = await ethers.getSigners();
    const provider = new Provider(new BenchProvider());
    const parameters = {
        treasury: treasury!.address,
        providerKeyX: provider.publicKey[0],
        providerKeyY: provider.publicKey[1],
        maxCost: TERMS.maxCost,
        policyPenalty: TERMS.policyPenalty,
        reserveBps: TERMS.reserveBps,
        challengeWindow: CHALLENGE_WINDOW,
        depositTerm: DEPOSIT_TERM,
        epochBlocks: 1n,
        owner: owner!.address
    };
    const deployed = await ignition.deploy(LocalCreditRegistry, { parameters: { LocalCreditRegistry: parameters } });
    const registry = deployed.registry as unknown as CreditRegistry;
    const token = deployed.token as unknown as TestToken;
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const results = new Results();
    const bench = new Bench(results, registry, await registry.getAddress(), token, provider, chainId, funder!);
    if ((await registry.context()) !== registryContext(bench.binding)) throw new Error("the registry's context differs from the protocol package's");
    const verifiers: Record<VerifierName, BaseContract> = {
        spend: deployed.spendVerifier as unknown as SpendVerifier,
        fold: deployed.foldVerifier as unknown as FoldVerifier,
        withdraw: deployed.withdrawVerifier as unknown as WithdrawVerifier,
        slash: deployed.slashVerifier as unknown as SlashVerifier
    };

    // One funded account: mint once (with room for every later registration), approve max once.
    await (await token.mint(funder!.address, DEPOSIT * BigInt(members + 100 * repeats))).wait();
    await (await token.connect(funder!).approve(bench.registryAddress, ethers.MaxUint256)).wait();
    log(`registering ${fmtInt(members)} members`);
    const registration = await registrations(bench, members);
    await freshUserRegistrations(bench, users.slice(0, repeats));

    await withdrawals(bench, repeats);
    await challenges(bench, repeats);
    await slashes(bench, repeats);
    await violations(bench, owner!, repeats);

    // A registry of a token with a blocklist, for refunds the token refuses.
    const blocklist = (await ethers.deployContract("BlocklistToken")) as unknown as BlocklistToken;
    const { registry: blockedRegistry } = (await ignition.deploy(CreditRegistryModule, {
        parameters: { CreditRegistry: { ...parameters, token: await blocklist.getAddress() } }
    })) as unknown as { registry: CreditRegistry };
    const blocked = new Bench(results, blockedRegistry, await blockedRegistry.getAddress(), blocklist as unknown as TestToken, provider, chainId, funder!);
    await (await blocklist.mint(funder!.address, DEPOSIT * BigInt(10 * repeats))).wait();
    await (await blocklist.connect(funder!).approve(blocked.registryAddress, ethers.MaxUint256)).wait();
    await deferredRefunds(blocked, blocklist, repeats);

    await expiries(bench, repeats);
    log("verifyProof estimates");
    const verifierResults = await verifierFloor(results, verifiers);

    const order = (fn: string): number => FUNCTION_ORDER.indexOf(fn);
    const sorted = [...results.cases].sort((a, b) => order(a.fn) - order(b.fn));
    const cases: CaseResult[] = sorted.map((c) => {
        const gas = stats(c.samples);
        const target = TARGETS[c.fn];
        return { fn: c.fn, label: c.label, gas, samples: c.samples, target, met: target === undefined ? undefined : gas.max <= target, v1: V1[c.fn] };
    });
    const registerGas = registration.measured[Math.min(1_000, members)]!;
    report(cases, verifierResults, registration, fillCost(registerGas), members, repeats);
}

main()
    .then(terminateCurve)
    .then(() => process.exit(0))
    .catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
