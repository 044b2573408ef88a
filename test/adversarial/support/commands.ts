import { expect } from "chai";
import fc from "fast-check";
import { getAddress, keccak256, toBeHex, ZeroAddress, ZeroHash } from "ethers";
import { nextCheckpoint, recoverSecret, rlnShare, SNARK_SCALAR_FIELD } from "@zk-api-credits/protocol";
import { BURN_ADDRESS } from "./fixture";
import { fails } from "./harness";
import type { Expectation, Harness } from "./harness";
import { MAX_AMOUNT, RegistryModel, requestHash, Status } from "./model";
import type { DepositStatus, Request } from "./model";
import type { PooledTicket } from "./pool";

const P = SNARK_SCALAR_FIELD;
const ACTORS = 8;

/**
 * Which deposit a command acts on. With `prefer`, one whose status makes the command
 * interesting (e.g. a deposit under withdrawal for finalizeWithdrawal) if there is one;
 * otherwise any planned identity, registered or not, so that every wrong-state error is reached.
 */
interface Target {
    prefer: boolean;
    pick: number;
}

const target: fc.Arbitrary<Target> = fc.record({ prefer: fc.nat({ max: 3 }).map((n) => n > 0), pick: fc.nat() });
const actor = fc.nat({ max: ACTORS - 1 });

function pick(m: RegistryModel, t: Target, ...wanted: ((status: DepositStatus, index: number) => boolean)[]): number {
    const all = m.pool.identities.map((i) => i.index);
    if (t.prefer) {
        // The first preference some identity meets, in order.
        for (const w of wanted) {
            const candidates = all.filter((i) => w(m.status(m.identity(i).commitment), i));
            if (candidates.length > 0) return candidates[t.pick % candidates.length]!;
        }
    }
    return all[t.pick % all.length]!;
}

/** Another actor than `address`. */
function otherActor(h: Harness, address: string, hint: number): string {
    for (let k = 0; k < ACTORS; k++) {
        const candidate = h.fx.actors[(hint + k) % ACTORS]!.address;
        if (getAddress(candidate) !== getAddress(address)) return candidate;
    }
    throw new Error("no other actor");
}

type Cmd = fc.AsyncCommand<RegistryModel, Harness>;

/** Moves the clock to `deadline + offset` (if that is ahead): calls exactly at, just before and just after a deadline. */
function approach(m: RegistryModel, h: Harness, command: string, deadline: bigint | undefined, offset: number | null): void {
    if (offset === null || deadline === undefined) return;
    const target = deadline + BigInt(offset);
    if (target > m.now) {
        m.now = target;
        h.stats.count(command, `(clock moved to deadline ${offset >= 0 ? "+" : ""}${offset})`);
    }
}

abstract class Step implements Cmd {
    check(_m: Readonly<RegistryModel>): boolean {
        return true;
    }

    async run(m: RegistryModel, h: Harness): Promise<void> {
        h.stats.commands++;
        const registrationsBefore = m.registrations.length;
        await this.step(m, h);
        await h.checkInvariants(m, m.registrations.length !== registrationsBefore);
    }

    protected abstract step(m: RegistryModel, h: Harness): Promise<void>;
    abstract toString(): string;
}

/** What register must do, checked in the contract's order. */
function expectRegistration(m: RegistryModel, h: Harness, idc: bigint, amount: bigint, payer: string, allowance: bigint): Expectation {
    if (idc === 0n || idc >= P) return fails("InvalidIdentityCommitment", idc);
    if (amount < m.terms.minimumDeposit || amount > MAX_AMOUNT) return fails("InvalidDepositAmount", amount, m.terms.minimumDeposit, MAX_AMOUNT);
    if (m.status(idc) !== Status.None) return fails("IdentityAlreadyRegistered", idc);
    if (allowance < amount) return fails("ERC20InsufficientAllowance", h.fx.registryAddress, allowance, amount);
    const leafIndex = BigInt(m.registrations.length);
    return {
        ok: true,
        events: [{ name: "Registered", args: [idc, leafIndex, amount, nextCheckpoint(m.checkpoint, idc, amount)] }],
        transfers: [{ from: payer, to: h.fx.registryAddress, value: amount }],
        apply: () => {
            m.register(idc, amount);
            m.debit(payer, amount);
        }
    };
}

async function registerWith(m: RegistryModel, h: Harness, command: string, idc: bigint, amount: bigint, payerIndex: number, allowance: bigint) {
    const payer = h.fx.actors[payerIndex]!;
    await h.setup(m, () => h.fx.token.mint(payer.address, amount));
    m.credit(payer.address, amount);
    await h.setup(m, () => h.fx.token.connect(payer).approve(h.fx.registryAddress, allowance));
    const expected = expectRegistration(m, h, idc, amount, payer.address, allowance);
    await h.call(m, command, () => h.fx.registry.connect(payer).register(idc, amount), expected);
}

/** A planned identity deposits its planned amount (or approves one unit too few). */
export class RegisterPlanned extends Step {
    constructor(
        readonly target: Target,
        readonly payer: number,
        readonly shortApproval: boolean
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const id = m.identity(pick(m, this.target, (s) => s === Status.None));
        const allowance = this.shortApproval ? id.deposit - 1n : id.deposit;
        await registerWith(m, h, "register", id.commitment, id.deposit, this.payer, allowance);
    }
    toString() {
        return `register(${JSON.stringify(this.target)}, payer ${this.payer}${this.shortApproval ? ", short approval" : ""})`;
    }
}

/** Any identity commitment and amount: malformed, duplicate, boundary or plain. */
class RegisterArbitrary extends Step {
    constructor(
        readonly idc: bigint,
        readonly amount: bigint,
        readonly payer: number
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        if (!m.extras.includes(this.idc)) m.extras.push(this.idc);
        await registerWith(m, h, "register (arbitrary)", this.idc, this.amount, this.payer, this.amount);
    }
    toString() {
        return `registerArbitrary(${this.idc}, ${this.amount}, payer ${this.payer})`;
    }
}

/** Off-chain: the user makes its next request; the provider verifies the proof, records the ticket and signs the new state. */
class Spend extends Step {
    constructor(readonly target: Target) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s, i) => RegistryModel.isLive(s) && m.seq[i]! < m.identity(i).tickets.length);
        const id = m.identity(index);
        if (!RegistryModel.isLive(m.status(id.commitment)) || m.seq[index]! >= id.tickets.length) {
            h.stats.count("spend (off-chain)", "nothing to spend");
            return;
        }
        const ticket = id.tickets[m.seq[index]!]!;
        expect(m.store.has(ticket.nullifier), "a fresh ticket's nullifier is already in the store").to.equal(false);
        expect(await h.verifySpend(ticket), "the provider rejects a pooled Spend proof").to.equal(true);
        m.store.set(ticket.nullifier, { identity: index, seq: ticket.seq, x: ticket.x, y: ticket.y, penalty: ticket.penalty });
        m.seq[index]!++;
        h.stats.count("spend (off-chain)", ticket.penalty > 0n ? "ok, with a policy penalty" : "ok");
    }
    toString() {
        return `spend(${JSON.stringify(this.target)})`;
    }
}

/** Off-chain: the user reuses an already spent ticket for another request; the provider recovers its secret. */
class DoubleSpend extends Step {
    constructor(
        readonly target: Target,
        readonly ticketPick: number
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s, i) => RegistryModel.isLive(s) && m.seq[i]! > 0);
        const id = m.identity(index);
        if (!RegistryModel.isLive(m.status(id.commitment)) || m.seq[index] === 0) {
            h.stats.count("double-spend (off-chain)", "no spent ticket");
            return;
        }
        const ticket = id.tickets[this.ticketPick % m.seq[index]!]!;
        const x = (ticket.x + 1n + BigInt(this.ticketPick)) % P;
        const reuse = rlnShare(id.secret, h.fx.binding.scope, BigInt(ticket.seq), x);
        expect(reuse.nullifier, "a reused ticket keeps its nullifier").to.equal(ticket.nullifier);
        const stored = m.store.get(reuse.nullifier);
        expect(stored, "the provider's store lost a served ticket").to.not.equal(undefined);
        expect(stored!.x).to.not.equal(x);
        expect(recoverSecret({ x: stored!.x, y: stored!.y }, reuse), "two shares of one ticket must reveal the secret").to.equal(id.secret);
        m.secretKnown[index] = true;
        h.stats.count("double-spend (off-chain)", "secret recovered");
    }
    toString() {
        return `doubleSpend(${JSON.stringify(this.target)}, ticket ${this.ticketPick})`;
    }
}

type SlashVariant = "ok" | "copied to another receiver" | "zero receiver";

class Slash extends Step {
    constructor(
        readonly target: Target,
        readonly receiverPick: number,
        readonly variant: SlashVariant,
        readonly sender: number
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s) => RegistryModel.isLive(s));
        const id = m.identity(index);
        const pooled = id.slashes[this.receiverPick % id.slashes.length]!;
        const receiver =
            this.variant === "zero receiver" ? ZeroAddress : this.variant === "ok" ? pooled.receiver : otherActor(h, pooled.receiver, this.sender);
        const d = m.deposit(id.commitment);
        const status = m.status(id.commitment);
        let expected: Expectation;
        if (!RegistryModel.isLive(status)) expected = fails("UnexpectedDepositStatus", id.commitment, status);
        else if (receiver === ZeroAddress) expected = fails("InvalidReceiver", ZeroAddress);
        else if (this.variant !== "ok") expected = fails("InvalidSlashProof", id.commitment);
        else {
            const bounty = m.bounty(d!.amount);
            const toTreasury = d!.amount - bounty;
            expected = {
                ok: true,
                events: [{ name: "Slashed", args: [id.commitment, receiver, bounty, toTreasury] }],
                transfers: bounty > 0n ? [{ from: h.fx.registryAddress, to: receiver, value: bounty }] : [],
                apply: () => {
                    d!.status = Status.Slashed;
                    d!.request = undefined;
                    m.pendingTreasury += toTreasury;
                    m.credit(receiver, bounty);
                    if (m.secretKnown[index]) h.stats.count("slash", "ok, after the provider recovered the secret");
                }
            };
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "slash", () => h.fx.registry.connect(sender).slash(id.commitment, receiver, pooled.proof), expected);
    }
    toString() {
        return `slash(${JSON.stringify(this.target)}, receiver ${this.receiverPick}, ${this.variant}, sender ${this.sender})`;
    }
}

type WithdrawVariant = "ok" | "other recipient" | "zero recipient" | "non-canonical nullifier" | "totals above deposit" | "altered totals";

class RequestWithdrawal extends Step {
    constructor(
        readonly target: Target,
        readonly stale: boolean,
        readonly statePick: number,
        readonly variant: WithdrawVariant,
        readonly sender: number
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s) => s === Status.Active);
        const id = m.identity(index);
        // Latest: the state after every request made. Stale: an older one, whose ticket was spent (challengeable).
        const seq = this.stale && m.seq[index]! > 0 ? this.statePick % m.seq[index]! : m.seq[index]!;
        const pooled = id.withdrawals[seq]!;
        const request: Request = { ...pooled.request };
        if (this.variant === "other recipient") request.recipient = otherActor(h, request.recipient, this.statePick);
        if (this.variant === "zero recipient") request.recipient = ZeroAddress;
        if (this.variant === "non-canonical nullifier") request.nullifier = this.statePick % 2 === 0 ? 0n : request.nullifier + P;
        if (this.variant === "totals above deposit") {
            request.spent = id.deposit;
            request.burned = 1n;
        }
        if (this.variant === "altered totals") request.spent += 1n;

        const d = m.deposit(id.commitment);
        const status = m.status(id.commitment);
        let expected: Expectation;
        if (status !== Status.Active) expected = fails("UnexpectedDepositStatus", id.commitment, status);
        else if (request.recipient === ZeroAddress) expected = fails("InvalidRecipient", ZeroAddress);
        else if (request.nullifier === 0n || request.nullifier >= P) expected = fails("InvalidNullifier", request.nullifier);
        else if (request.spent + request.burned > d!.amount) expected = fails("TotalsExceedDeposit", request.spent, request.burned, d!.amount);
        else if (this.variant !== "ok") expected = fails("InvalidWithdrawProof", id.commitment);
        else {
            expected = {
                ok: true,
                events: [
                    {
                        name: "WithdrawalRequested",
                        args: [id.commitment, request.nullifier, request.recipient, request.spent, request.burned, m.now + m.terms.challengeWindow]
                    }
                ],
                transfers: [],
                apply: () => {
                    d!.status = Status.Withdrawing;
                    d!.withdrawalRequestedAt = m.now;
                    d!.request = request;
                    if (seq < m.seq[index]!) h.stats.count("requestWithdrawal", "ok, of a stale state");
                }
            };
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "requestWithdrawal", () => h.fx.registry.connect(sender).requestWithdrawal(id.commitment, request, pooled.proof), expected);
    }
    toString() {
        return `requestWithdrawal(${JSON.stringify(this.target)}, ${this.stale ? `stale ${this.statePick}` : "latest"}, ${this.variant}, sender ${this.sender})`;
    }
}

/** The request a command presents for a deposit: the pending one, or the latest state's if none. */
function presentedRequest(m: RegistryModel, index: number): Request {
    const id = m.identity(index);
    return m.deposit(id.commitment)?.request ?? { ...id.withdrawals[m.seq[index]!]!.request };
}

type ChallengeVariant = "ok" | "altered request" | "altered signal";

class Challenge extends Step {
    constructor(
        readonly target: Target,
        readonly matching: boolean,
        readonly proofPick: number,
        readonly variant: ChallengeVariant,
        readonly sender: number,
        readonly edge: number | null
    ) {
        super();
    }
    override check(m: Readonly<RegistryModel>): boolean {
        return m.store.size > 0;
    }
    protected async step(m: RegistryModel, h: Harness) {
        // The provider's gateway challenges the withdrawals whose ticket it has seen spent.
        const challengeable = (i: number) => m.store.has(m.deposit(m.identity(i).commitment)!.request!.nullifier);
        const open = (i: number) => m.now < m.deposit(m.identity(i).commitment)!.withdrawalRequestedAt + m.terms.challengeWindow;
        const index = pick(
            m,
            this.target,
            (s, i) => s === Status.Withdrawing && (!this.matching || challengeable(i)) && open(i),
            (s, i) => s === Status.Withdrawing && (!this.matching || challengeable(i)),
            (s) => s === Status.Withdrawing
        );
        const id = m.identity(index);
        const request = presentedRequest(m, index);
        // The challenger holds the Spend proofs the provider's store recorded.
        const stored = (this.matching ? m.store.get(request.nullifier) : undefined) ?? [...m.store.values()][this.proofPick % m.store.size]!;
        const ticket: PooledTicket = m.identity(stored.identity).tickets[stored.seq]!;
        const presented = this.variant === "altered request" ? { ...request, burned: request.burned + 1n } : request;
        const signals = { ...ticket.signals };
        if (this.variant === "altered signal") signals.x = (signals.x + 1n) % P;

        const d = m.deposit(id.commitment);
        const status = m.status(id.commitment);
        if (status === Status.Withdrawing) approach(m, h, "challengeWithdrawal", d!.withdrawalRequestedAt + m.terms.challengeWindow, this.edge);
        const sender = h.fx.actors[this.sender]!;
        let expected: Expectation;
        if (status !== Status.Withdrawing) expected = fails("UnexpectedDepositStatus", id.commitment, status);
        else if (requestHash(presented) !== requestHash(d!.request!)) expected = fails("WithdrawalRequestMismatch", id.commitment);
        else if (m.now >= d!.withdrawalRequestedAt + m.terms.challengeWindow) {
            expected = fails("ChallengeWindowClosed", id.commitment, d!.withdrawalRequestedAt + m.terms.challengeWindow);
        } else if (ticket.nullifier !== request.nullifier || this.variant !== "ok") expected = fails("InvalidChallengeProof", id.commitment);
        else {
            expected = {
                ok: true,
                events: [{ name: "WithdrawalChallenged", args: [id.commitment, request.nullifier, sender.address, d!.amount] }],
                transfers: [],
                apply: () => {
                    d!.status = Status.Slashed;
                    d!.request = undefined;
                    m.pendingTreasury += d!.amount;
                }
            };
        }
        await h.call(m, "challengeWithdrawal", () => h.fx.registry.connect(sender).challengeWithdrawal(id.commitment, presented, signals, ticket.proof), expected);
    }
    toString() {
        return `challengeWithdrawal(${JSON.stringify(this.target)}, ${this.matching ? "matching" : `proof ${this.proofPick}`}, ${this.variant}, sender ${this.sender}, edge ${this.edge})`;
    }
}

class Finalize extends Step {
    constructor(
        readonly target: Target,
        readonly altered: boolean,
        readonly sender: number,
        readonly edge: number | null
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s) => s === Status.Withdrawing);
        const id = m.identity(index);
        const request = presentedRequest(m, index);
        const presented = this.altered ? { ...request, recipient: otherActor(h, request.recipient, this.sender) } : request;
        const d = m.deposit(id.commitment);
        const status = m.status(id.commitment);
        if (status === Status.Withdrawing) approach(m, h, "finalizeWithdrawal", d!.withdrawalRequestedAt + m.terms.challengeWindow, this.edge);
        let expected: Expectation;
        if (status !== Status.Withdrawing) expected = fails("UnexpectedDepositStatus", id.commitment, status);
        else if (requestHash(presented) !== requestHash(d!.request!)) expected = fails("WithdrawalRequestMismatch", id.commitment);
        else if (m.now < d!.withdrawalRequestedAt + m.terms.challengeWindow) {
            expected = fails("ChallengeWindowOpen", id.commitment, d!.withdrawalRequestedAt + m.terms.challengeWindow);
        } else {
            const refund = d!.amount - request.spent - request.burned;
            expected = {
                ok: true,
                events: [{ name: "WithdrawalFinalized", args: [id.commitment, request.recipient, refund, request.spent, request.burned] }],
                transfers: refund > 0n ? [{ from: h.fx.registryAddress, to: request.recipient, value: refund }] : [],
                apply: () => {
                    d!.status = Status.Withdrawn;
                    d!.request = undefined;
                    m.pendingTreasury += request.spent;
                    m.pendingBurn += request.burned;
                    m.credit(request.recipient, refund);
                }
            };
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "finalizeWithdrawal", () => h.fx.registry.connect(sender).finalizeWithdrawal(id.commitment, presented), expected);
    }
    toString() {
        return `finalizeWithdrawal(${JSON.stringify(this.target)}${this.altered ? ", altered request" : ""}, sender ${this.sender}, edge ${this.edge})`;
    }
}

class ClaimExpired extends Step {
    constructor(
        readonly target: Target,
        readonly extra: boolean,
        readonly sender: number,
        readonly edge: number | null
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        let idc: bigint;
        const extras = m.extras.filter((e) => e < 1n << 256n);
        if (this.extra && extras.length > 0) {
            const active = extras.filter((e) => m.status(e) === Status.Active);
            idc = this.target.prefer && active.length > 0 ? active[this.target.pick % active.length]! : extras[this.target.pick % extras.length]!;
        } else {
            idc = m.identity(pick(m, this.target, (s) => s === Status.Active)).commitment;
        }
        const d = m.deposit(idc);
        const status = m.status(idc);
        if (status === Status.Active) approach(m, h, "claimExpired", d!.registeredAt + m.terms.depositTerm, this.edge);
        let expected: Expectation;
        if (status !== Status.Active) expected = fails("UnexpectedDepositStatus", idc, status);
        else if (m.now < d!.registeredAt + m.terms.depositTerm) expected = fails("DepositNotExpired", idc, d!.registeredAt + m.terms.depositTerm);
        else {
            expected = {
                ok: true,
                events: [{ name: "DepositExpired", args: [idc, d!.amount] }],
                transfers: [],
                apply: () => {
                    d!.status = Status.Expired;
                    m.pendingTreasury += d!.amount;
                }
            };
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "claimExpired", () => h.fx.registry.connect(sender).claimExpired(idc), expected);
    }
    toString() {
        return `claimExpired(${JSON.stringify(this.target)}${this.extra ? ", extra" : ""}, sender ${this.sender}, edge ${this.edge})`;
    }
}

type ViolationSource = "penalised ticket" | "any ticket" | "random" | "zero" | "non-canonical" | "repeat";

class ReportViolation extends Step {
    constructor(
        readonly source: ViolationSource,
        readonly pickIndex: number,
        readonly random: bigint,
        readonly zeroEvidence: boolean,
        readonly byOwner: boolean,
        readonly sender: number
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const tickets = [...m.store.entries()];
        const penalised = tickets.filter(([, t]) => t.penalty > 0n);
        const reported = [...m.violations];
        let nullifier = this.random;
        if (this.source === "penalised ticket" && penalised.length > 0) nullifier = penalised[this.pickIndex % penalised.length]![0];
        if (this.source === "any ticket" && tickets.length > 0) nullifier = tickets[this.pickIndex % tickets.length]![0];
        if (this.source === "zero") nullifier = 0n;
        if (this.source === "non-canonical") nullifier = P + (this.random % ((1n << 255n) - P));
        if (this.source === "repeat" && reported.length > 0) nullifier = reported[this.pickIndex % reported.length]!;
        const evidence = this.zeroEvidence ? ZeroHash : keccak256(toBeHex(BigInt(this.pickIndex) + 1n, 32));
        const caller = this.byOwner ? h.fx.owner : h.fx.actors[this.sender]!;

        let expected: Expectation;
        if (!this.byOwner) expected = fails("OwnableUnauthorizedAccount", caller.address);
        else if (nullifier === 0n || nullifier >= P) expected = fails("InvalidNullifier", nullifier);
        else if (evidence === ZeroHash) expected = fails("InvalidEvidence", evidence);
        else if (m.violations.has(nullifier)) expected = fails("ViolationAlreadyReported", nullifier);
        else {
            const count = m.violationCount + 1n;
            expected = {
                ok: true,
                events: [{ name: "ViolationReported", args: [nullifier, evidence, count] }],
                transfers: [],
                apply: () => {
                    m.violations.add(nullifier);
                    m.violationCount = count;
                }
            };
        }
        await h.call(m, "reportViolation", () => h.fx.registry.connect(caller).reportViolation(nullifier, evidence), expected);
    }
    toString() {
        return `reportViolation(${this.source}, ${this.pickIndex}, ${this.random}, ${this.zeroEvidence ? "zero evidence" : "evidence"}, ${this.byOwner ? "owner" : `actor ${this.sender}`})`;
    }
}

class Sweep extends Step {
    constructor(readonly sender: number) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const toTreasury = m.pendingTreasury;
        const toBurn = m.pendingBurn;
        const treasury = h.fx.treasury.address;
        const expected: Expectation =
            toTreasury === 0n && toBurn === 0n
                ? fails("NothingToSweep")
                : {
                      ok: true,
                      events: [{ name: "Swept", args: [treasury, toTreasury, toBurn] }],
                      transfers: [
                          ...(toTreasury > 0n ? [{ from: h.fx.registryAddress, to: treasury, value: toTreasury }] : []),
                          ...(toBurn > 0n ? [{ from: h.fx.registryAddress, to: BURN_ADDRESS, value: toBurn }] : [])
                      ],
                      apply: () => {
                          m.credit(treasury, toTreasury);
                          m.credit(BURN_ADDRESS, toBurn);
                          m.pendingTreasury = 0n;
                          m.pendingBurn = 0n;
                      }
                  };
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "sweep", () => h.fx.registry.connect(sender).sweep(), expected);
    }
    toString() {
        return `sweep(sender ${this.sender})`;
    }
}

type Jump =
    | { kind: "seconds"; seconds: number }
    | { kind: "days"; days: number }
    | { kind: "challenge window edge"; pick: number; offset: number }
    | { kind: "term edge"; pick: number; offset: number };

/** Moves the clock forward: by some seconds or days, or exactly to (around) a deadline. */
class TimeJump extends Step {
    constructor(readonly jump: Jump) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        let next = m.now;
        const deposits = [...m.deposits.values()];
        if (this.jump.kind === "seconds") next = m.now + BigInt(this.jump.seconds);
        if (this.jump.kind === "days") next = m.now + BigInt(this.jump.days) * 86_400n;
        if (this.jump.kind === "challenge window edge") {
            const pending = deposits.filter((d) => d.status === Status.Withdrawing);
            if (pending.length > 0) {
                next = pending[this.jump.pick % pending.length]!.withdrawalRequestedAt + m.terms.challengeWindow + BigInt(this.jump.offset);
            }
        }
        if (this.jump.kind === "term edge") {
            const active = deposits.filter((d) => d.status === Status.Active);
            if (active.length > 0) next = active[this.jump.pick % active.length]!.registeredAt + m.terms.depositTerm + BigInt(this.jump.offset);
        }
        if (next > m.now) {
            h.stats.count("time jump", this.jump.kind);
            m.now = next;
        } else {
            // No such deadline ahead: a short step instead.
            h.stats.count("time jump", "a few seconds (no deadline ahead)");
            m.now += 1n + BigInt(Math.abs(this.jump.kind === "seconds" || this.jump.kind === "days" ? 0 : this.jump.pick % 600));
        }
    }
    toString() {
        return `timeJump(${JSON.stringify(this.jump)})`;
    }
}

const bigIdc = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(0n, 1n, 2n, P - 1n, P, P + 1n, (1n << 256n) - 1n) },
    { weight: 3, arbitrary: fc.bigInt({ min: 1n, max: P - 1n }) }
);

/** The command arbitraries, weighted towards the operations that reach deep states. */
export function commandArbitraries(minimumDeposit: bigint): fc.Arbitrary<Cmd>[] {
    const amount = fc.oneof(
        { weight: 1, arbitrary: fc.constantFrom(0n, minimumDeposit - 1n, minimumDeposit, MAX_AMOUNT, MAX_AMOUNT + 1n) },
        { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 1n << 100n }) }
    );
    const offset = fc.constantFrom(-1, 0, 1);
    /** Half the time, call exactly at (or one second around) the target's own deadline. */
    const edge = fc.oneof(fc.constant(null), offset);
    const weighted: [number, fc.Arbitrary<Cmd>][] = [
        [2, fc.tuple(target, actor, fc.nat({ max: 5 })).map(([t, a, s]) => new RegisterPlanned(t, a, s === 0))],
        [2, fc.tuple(bigIdc, amount, actor).map(([i, v, a]) => new RegisterArbitrary(i, v, a))],
        [6, target.map((t) => new Spend(t))],
        [2, fc.tuple(target, fc.nat()).map(([t, p]) => new DoubleSpend(t, p))],
        [
            2,
            fc
                .tuple(target, fc.nat({ max: 1 }), fc.constantFrom<SlashVariant>("ok", "ok", "ok", "copied to another receiver", "zero receiver"), actor)
                .map(([t, r, v, a]) => new Slash(t, r, v, a))
        ],
        [
            7,
            fc
                .tuple(
                    target,
                    fc.nat({ max: 2 }).map((n) => n > 0),
                    fc.nat(),
                    fc.constantFrom<WithdrawVariant>(
                        "ok",
                        "ok",
                        "ok",
                        "ok",
                        "other recipient",
                        "zero recipient",
                        "non-canonical nullifier",
                        "totals above deposit",
                        "altered totals"
                    ),
                    actor
                )
                .map(([t, stale, p, v, a]) => new RequestWithdrawal(t, stale, p, v, a))
        ],
        [
            7,
            fc
                .tuple(
                    target,
                    fc.nat({ max: 3 }).map((n) => n > 0),
                    fc.nat(),
                    fc.constantFrom<ChallengeVariant>("ok", "ok", "ok", "altered request", "altered signal"),
                    actor,
                    edge
                )
                .map(([t, matching, p, v, a, e]) => new Challenge(t, matching, p, v, a, e))
        ],
        [5, fc.tuple(target, fc.nat({ max: 5 }).map((n) => n === 0), actor, edge).map(([t, altered, a, e]) => new Finalize(t, altered, a, e))],
        [
            2,
            fc
                .tuple(target, fc.boolean(), actor, fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: offset }))
                .map(([t, x, a, e]) => new ClaimExpired(t, x, a, e))
        ],
        [
            2,
            fc
                .tuple(
                    fc.constantFrom<ViolationSource>("penalised ticket", "penalised ticket", "any ticket", "random", "zero", "non-canonical", "repeat"),
                    fc.nat(),
                    fc.bigInt({ min: 1n, max: P - 1n }),
                    fc.nat({ max: 7 }).map((n) => n === 0),
                    fc.nat({ max: 4 }).map((n) => n > 0),
                    actor
                )
                .map(([s, p, r, z, o, a]) => new ReportViolation(s, p, r, z, o, a))
        ],
        [3, actor.map((a) => new Sweep(a))],
        [
            6,
            fc.oneof(
                { weight: 2, arbitrary: fc.integer({ min: 1, max: 1_200 }).map((seconds) => new TimeJump({ kind: "seconds", seconds })) },
                { weight: 1, arbitrary: fc.integer({ min: 1, max: 45 }).map((days) => new TimeJump({ kind: "days", days })) },
                {
                    weight: 3,
                    arbitrary: fc.tuple(fc.nat(), offset).map(([p, o]) => new TimeJump({ kind: "challenge window edge", pick: p, offset: o }))
                },
                { weight: 1, arbitrary: fc.tuple(fc.nat(), offset).map(([p, o]) => new TimeJump({ kind: "term edge", pick: p, offset: o })) }
            )
        ]
    ];
    return [fc.oneof(...weighted.map(([weight, arbitrary]) => ({ weight, arbitrary })))];
}
