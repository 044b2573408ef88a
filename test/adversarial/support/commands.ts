import { expect } from "chai";
import fc from "fast-check";
import { getAddress, keccak256, toBeHex, ZeroAddress, ZeroHash } from "ethers";
import { FOLD_SIZE, nextCheckpoint, recoverSecret, rlnShare, slotNullifiersHash, SNARK_SCALAR_FIELD, TICKET_WINDOW } from "@zk-api-credits/protocol";
import { BURN_ADDRESS, PAYERS } from "./fixture";
import { fails } from "./harness";
import type { Expectation, Harness } from "./harness";
import { ChallengeKind, isDeclared, MAX_AMOUNT, RegistryModel, requestHash, Status } from "./model";
import type { DepositStatus, ModelDeposit, Request } from "./model";
import { foldLimit } from "./pool";
import type { PooledFold, PooledTicket, PooledWithdrawal } from "./pool";

const P = SNARK_SCALAR_FIELD;
const ACTORS = 8;
const K = FOLD_SIZE;

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
const payer = fc.nat({ max: PAYERS - 1 });

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
    const at = deadline + BigInt(offset);
    if (at > m.now) {
        m.now = at;
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

// ---------------------------------------------------------------- registration

/** What register must do, checked in the contract's order. */
function expectRegistration(m: RegistryModel, h: Harness, idc: bigint, amount: bigint, payerAddress: string, allowance: bigint): Expectation {
    if (idc === 0n || idc >= P) return fails("InvalidIdentityCommitment", idc);
    if (amount < m.terms.minimumDeposit || amount > MAX_AMOUNT) return fails("InvalidDepositAmount", amount, m.terms.minimumDeposit, MAX_AMOUNT);
    if (m.status(idc) !== Status.None) return fails("IdentityAlreadyRegistered", idc);
    if (allowance < amount) return fails("ERC20InsufficientAllowance", h.fx.registryAddress, allowance, amount);
    const leafIndex = BigInt(m.registrations.length);
    return {
        ok: true,
        events: [{ name: "Registered", args: [idc, leafIndex, amount, nextCheckpoint(m.checkpoint, idc, amount)] }],
        transfers: [{ from: payerAddress, to: h.fx.registryAddress, value: amount }],
        apply: () => {
            m.register(idc, amount);
            m.debit(payerAddress, amount);
        }
    };
}

async function registerWith(m: RegistryModel, h: Harness, command: string, idc: bigint, amount: bigint, payerIndex: number, allowance: bigint) {
    const from = h.fx.actors[payerIndex]!;
    await h.setup(m, () => h.fx.token.mint(from.address, amount));
    m.credit(from.address, amount);
    await h.setup(m, () => h.fx.token.connect(from).approve(h.fx.registryAddress, allowance));
    const expected = expectRegistration(m, h, idc, amount, from.address, allowance);
    await h.call(m, command, () => h.fx.registry.connect(from).register(idc, amount), expected);
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

// ---------------------------------------------------------------- off-chain: tickets and folds

/** Off-chain: the user sends its next ticket; the provider verifies the proof, records the ticket and (unless withheld) answers with a charge. */
class Spend extends Step {
    constructor(readonly target: Target) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(
            m,
            this.target,
            (s, i) => s === Status.Active && m.used[i]! < m.identity(i).tickets.length,
            (s, i) => RegistryModel.isLive(s) && m.used[i]! < m.identity(i).tickets.length
        );
        const id = m.identity(index);
        if (!RegistryModel.isLive(m.status(id.commitment)) || m.used[index]! >= id.tickets.length) {
            h.stats.count("spend (off-chain)", "nothing to spend");
            return;
        }
        const ticket = id.tickets[m.used[index]!]!;
        expect(m.store.has(ticket.nullifier), "a fresh ticket's nullifier is already in the store").to.equal(false);
        expect(await h.verifySpend(ticket), "the provider rejects a pooled Spend proof").to.equal(true);
        m.store.set(ticket.nullifier, { identity: index, index: ticket.index, x: ticket.x, y: ticket.y, penalty: ticket.penalty });
        m.used[index]!++;
        const withdrawing = m.status(id.commitment) === Status.Withdrawing;
        if (withdrawing) m.taint(index);
        h.stats.count("spend (off-chain)", withdrawing ? "ok, while withdrawing" : ticket.withheld ? "ok, charge withheld" : "ok");
    }
    toString() {
        return `spend(${JSON.stringify(this.target)})`;
    }
}

/** Off-chain: the user folds the K charges beyond its newest base; the gateway verifies, records the fold nullifier and signs the new base. */
class Fold extends Step {
    constructor(readonly target: Target) {
        super();
    }
    private foldable(m: Readonly<RegistryModel>, index: number): PooledFold | undefined {
        const id = m.identity(index);
        const folded = m.folded[index]!;
        if (folded + K > foldLimit(id.tickets, m.used[index]!)) return undefined;
        return id.folds[folded / K];
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s, i) => RegistryModel.isLive(s) && this.foldable(m, i) !== undefined);
        const id = m.identity(index);
        const fold = this.foldable(m, index);
        if (!RegistryModel.isLive(m.status(id.commitment)) || fold === undefined) {
            h.stats.count("fold (off-chain)", "nothing to fold");
            return;
        }
        expect(m.folds.has(fold.foldNullifier), "a base was folded twice").to.equal(false);
        expect(await h.verifyFold(fold), "the gateway rejects a pooled Fold proof").to.equal(true);
        m.folds.set(fold.foldNullifier, { identity: index, from: fold.from });
        m.folded[index]! += K;
        const withdrawing = m.status(id.commitment) === Status.Withdrawing;
        if (withdrawing) m.taint(index);
        h.stats.count("fold (off-chain)", withdrawing ? "ok, while withdrawing" : "ok");
    }
    toString() {
        return `fold(${JSON.stringify(this.target)})`;
    }
}

/** Off-chain: the user reuses a spent ticket's index for another request (another x); the provider recovers its secret. */
class DoubleSpend extends Step {
    constructor(
        readonly target: Target,
        readonly ticketPick: number
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s, i) => RegistryModel.isLive(s) && m.used[i]! > 0);
        const id = m.identity(index);
        if (!RegistryModel.isLive(m.status(id.commitment)) || m.used[index] === 0) {
            h.stats.count("double-spend (off-chain)", "no spent ticket");
            return;
        }
        const ticket = id.tickets[this.ticketPick % m.used[index]!]!;
        const x = (ticket.x + 1n + BigInt(this.ticketPick)) % P;
        const reuse = rlnShare(id.secret, h.fx.binding.scope, BigInt(ticket.index), x);
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

// ---------------------------------------------------------------- slashing

type SlashVariant = "ok" | "copied to another receiver" | "zero receiver";

/** slash: an active deposit, the reserve to the receiver. */
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
        const index = pick(m, this.target, (s) => s === Status.Active, (s) => s === Status.Withdrawing);
        const id = m.identity(index);
        const pooled = id.slashes[this.receiverPick % id.slashes.length]!;
        const receiver = this.variant === "zero receiver" ? ZeroAddress : this.variant === "ok" ? pooled.receiver : otherActor(h, pooled.receiver, this.sender);
        const d = m.deposit(id.commitment);
        const status = m.status(id.commitment);
        let expected: Expectation;
        if (status !== Status.Active) expected = fails("UnexpectedDepositStatus", id.commitment, status);
        else if (receiver === ZeroAddress) expected = fails("InvalidReceiver", ZeroAddress);
        else if (this.variant !== "ok") expected = fails("InvalidSlashProof", id.commitment);
        else {
            const bounty = m.bounty(d!.amount);
            const toTreasury = d!.amount - bounty;
            if (bounty > 0n && m.isBlocked(receiver)) expected = fails("Blocked", receiver);
            else {
                expected = {
                    ok: true,
                    events: [{ name: "Slashed", args: [id.commitment, receiver, bounty, toTreasury, 0n] }],
                    transfers: bounty > 0n ? [{ from: h.fx.registryAddress, to: receiver, value: bounty }] : [],
                    apply: () => {
                        d!.status = Status.Slashed;
                        m.pendingTreasury += toTreasury;
                        m.credit(receiver, bounty);
                        if (m.secretKnown[index]) h.stats.count("slash", "ok, after the provider recovered the secret");
                    }
                };
            }
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "slash", () => h.fx.registry.connect(sender).slash(id.commitment, receiver, pooled.proof), expected);
    }
    toString() {
        return `slash(${JSON.stringify(this.target)}, receiver ${this.receiverPick}, ${this.variant}, sender ${this.sender})`;
    }
}

type SlashWithdrawalVariant = SlashVariant | "altered request";

/** slashWithdrawal: a deposit under withdrawal, no bounty, the request's burned part to the burn address. */
class SlashWithdrawal extends Step {
    constructor(
        readonly target: Target,
        readonly receiverPick: number,
        readonly variant: SlashWithdrawalVariant,
        readonly sender: number
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s) => s === Status.Withdrawing);
        const id = m.identity(index);
        const pooled = id.slashes[this.receiverPick % id.slashes.length]!;
        const receiver = this.variant === "zero receiver" ? ZeroAddress : this.variant === "copied to another receiver" ? otherActor(h, pooled.receiver, this.sender) : pooled.receiver;
        const request = presentedRequest(m, index);
        const presented = this.variant === "altered request" ? { ...request, spent: request.spent + 1n } : request;
        const d = m.deposit(id.commitment);
        const status = m.status(id.commitment);
        let expected: Expectation;
        if (status !== Status.Withdrawing) expected = fails("UnexpectedDepositStatus", id.commitment, status);
        else if (requestHash(presented) !== requestHash(d!.pending!.request)) expected = fails("WithdrawalRequestMismatch", id.commitment);
        else if (receiver === ZeroAddress) expected = fails("InvalidReceiver", ZeroAddress);
        else if (this.variant !== "ok") expected = fails("InvalidSlashProof", id.commitment);
        else {
            const { toTreasury, toBurn } = m.forfeit(d!.amount, request);
            expected = {
                ok: true,
                events: [{ name: "Slashed", args: [id.commitment, receiver, 0n, toTreasury, toBurn] }],
                transfers: [],
                apply: () => {
                    d!.status = Status.Slashed;
                    d!.pending = undefined;
                    m.pendingTreasury += toTreasury;
                    m.pendingBurn += toBurn;
                    if (toBurn > 0n) h.stats.count("slashWithdrawal", "ok, with burned penalties");
                }
            };
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "slashWithdrawal", () => h.fx.registry.connect(sender).slashWithdrawal(id.commitment, presented, receiver, pooled.proof), expected);
    }
    toString() {
        return `slashWithdrawal(${JSON.stringify(this.target)}, receiver ${this.receiverPick}, ${this.variant}, sender ${this.sender})`;
    }
}

// ---------------------------------------------------------------- withdrawals

type WithdrawVariant =
    | "ok"
    | "other recipient"
    | "zero recipient"
    | "non-canonical fold nullifier"
    | "non-canonical hash"
    | "declared slot disclosed"
    | "undeclared slot empty"
    | "altered totals"
    | "disguised disclosure";

/** The pooled withdrawal of identity `index`'s current state (every used ticket accounted for, newest base). */
function latestWithdrawal(m: RegistryModel, index: number): PooledWithdrawal {
    const found = m.identity(index).withdrawals.find((w) => w.used === m.used[index] && w.folded === m.folded[index]);
    if (found === undefined) throw new Error(`pool: no withdrawal of identity ${index} in state (${m.used[index]}, ${m.folded[index]})`);
    return found;
}

/** True if `w` is the user's truthful account now: its tickets are all it used, and no base newer than e* was folded. */
function isHonest(m: RegistryModel, index: number, w: PooledWithdrawal): boolean {
    return w.used === m.used[index] && (w.folded === m.folded[index] || (w.charges === K && w.folded + K === m.folded[index]));
}

/** The first slot whose nullifier fails requestWithdrawal's checks, with the error, or undefined. */
function slotError(request: Request): Expectation | undefined {
    for (let slot = 0; slot < TICKET_WINDOW; slot++) {
        const n = request.slotNullifiers[slot]!;
        if (isDeclared(request, slot)) {
            if (n !== 0n) return fails("DeclaredSlotDisclosed", BigInt(slot), n);
        } else if (n === 0n || n >= P) return fails("InvalidSlotNullifier", BigInt(slot), n);
    }
    return undefined;
}

class RequestWithdrawal extends Step {
    constructor(
        readonly target: Target,
        readonly older: boolean,
        readonly statePick: number,
        readonly variant: WithdrawVariant,
        readonly sender: number
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s) => s === Status.Active);
        const id = m.identity(index);
        // Latest: the user's current state. Older: a state it has left behind (fewer tickets, or an older base).
        const latest = latestWithdrawal(m, index);
        const older = id.withdrawals.filter((w) => w !== latest && w.used <= m.used[index]! && w.folded <= m.folded[index]!);
        // A malformed declaration needs a state with a declared slot: any the user has been through will do (the request fails anyway).
        const withDeclared = [latest, ...older].filter((w) => w.request.declaredSlots !== 0n);
        // Three in four older picks claim a base the user has folded since (a stale base the gateway can show).
        const staleBase = older.filter((w) => m.folds.has(w.request.foldNullifier));
        const olderPick = this.statePick % 4 !== 0 && staleBase.length > 0 ? staleBase[(this.statePick >> 2) % staleBase.length] : older[this.statePick % older.length];
        const pooled =
            this.variant === "declared slot disclosed" && withDeclared.length > 0
                ? withDeclared[this.statePick % withDeclared.length]!
                : this.older && olderPick !== undefined
                  ? olderPick
                  : latest;
        const request: Request = { ...pooled.request, slotNullifiers: [...pooled.request.slotNullifiers] };
        const undeclared = [...Array(TICKET_WINDOW).keys()].filter((j) => !isDeclared(request, j));
        const declared = [...Array(TICKET_WINDOW).keys()].filter((j) => isDeclared(request, j));
        const slotOf = (list: number[]) => list[this.statePick % list.length]!;
        let variant = this.variant;
        if (variant === "declared slot disclosed" && declared.length === 0) variant = "undeclared slot empty";
        if (variant === "other recipient") request.recipient = otherActor(h, request.recipient, this.statePick);
        if (variant === "zero recipient") request.recipient = ZeroAddress;
        if (variant === "non-canonical fold nullifier") request.foldNullifier += P;
        if (variant === "non-canonical hash") request.slotNullifiersHash = P + BigInt(this.statePick % 1000);
        if (variant === "declared slot disclosed") request.slotNullifiers[slotOf(declared)] = 5n;
        if (variant === "undeclared slot empty") request.slotNullifiers[slotOf(undeclared)] = this.statePick % 2 === 0 ? 0n : P;
        if (variant === "altered totals") request.burned += 1n;
        if (variant === "disguised disclosure") {
            const slot = slotOf(undeclared);
            request.slotNullifiers[slot] = request.slotNullifiers[slot]! + 1n === P ? 1n : request.slotNullifiers[slot]! + 1n;
        }

        const d = m.deposit(id.commitment);
        const status = m.status(id.commitment);
        let expected: Expectation;
        if (status !== Status.Active) expected = fails("UnexpectedDepositStatus", id.commitment, status);
        else if (request.recipient === ZeroAddress) expected = fails("InvalidRecipient", ZeroAddress);
        else if (request.foldNullifier >= P) expected = fails("NonCanonicalFoldNullifier", request.foldNullifier);
        else if (request.slotNullifiersHash >= P) expected = fails("NonCanonicalSlotNullifiersHash", request.slotNullifiersHash);
        else if (slotError(request) !== undefined) expected = slotError(request)!;
        else if (variant === "other recipient" || variant === "altered totals") expected = fails("InvalidWithdrawProof", id.commitment);
        else {
            const honest = variant === "ok" && isHonest(m, index, pooled);
            expected = {
                ok: true,
                events: [
                    {
                        name: "WithdrawalRequested",
                        args: [
                            id.commitment,
                            request.recipient,
                            request.foldNullifier,
                            request.spent,
                            request.burned,
                            request.declaredSlots,
                            request.slotNullifiers,
                            request.slotNullifiersHash,
                            m.now + m.terms.challengeWindow
                        ]
                    }
                ],
                transfers: [],
                apply: () => {
                    d!.status = Status.Withdrawing;
                    d!.withdrawalRequestedAt = m.now;
                    d!.pending = { request, honest, effective: pooled.effective };
                    h.stats.count("requestWithdrawal", honest ? "ok, honest" : variant === "disguised disclosure" ? "ok, disguised disclosure" : "ok, of a stale state");
                    if (request.declaredSlots !== 0n) h.stats.count("requestWithdrawal", "ok, with declared slots");
                }
            };
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "requestWithdrawal", () => h.fx.registry.connect(sender).requestWithdrawal(id.commitment, request, pooled.proof), expected);
    }
    toString() {
        return `requestWithdrawal(${JSON.stringify(this.target)}, ${this.older ? `older ${this.statePick}` : "latest"}, ${this.variant}, sender ${this.sender})`;
    }
}

/** The request a command presents for a deposit: the pending one, or the current state's if none. */
function presentedRequest(m: RegistryModel, index: number): Request {
    return m.deposit(m.identity(index).commitment)?.pending?.request ?? { ...latestWithdrawal(m, index).request };
}

/** The checks every challenge makes first, in the contract's order; undefined if the challenge may proceed. */
function challengeGate(m: RegistryModel, idc: bigint, d: ModelDeposit | undefined, presented: Request): Expectation | undefined {
    const status = m.status(idc);
    if (status !== Status.Withdrawing) return fails("UnexpectedDepositStatus", idc, status);
    if (requestHash(presented) !== requestHash(d!.pending!.request)) return fails("WithdrawalRequestMismatch", idc);
    const closesAt = d!.withdrawalRequestedAt + m.terms.challengeWindow;
    if (m.now >= closesAt) return fails("ChallengeWindowClosed", idc, closesAt);
    return undefined;
}

/** A successful challenge: the deposit is forfeited; an honest request must never get here. */
function forfeited(m: RegistryModel, h: Harness, command: string, d: ModelDeposit, kind: bigint, challenger: string): Expectation {
    expect(d.pending!.honest, `${command}: an honest withdrawal was challenged successfully`).to.equal(false);
    const { toTreasury, toBurn } = m.forfeit(d.amount, d.pending!.request);
    return {
        ok: true,
        events: [{ name: "WithdrawalChallenged", args: [d.identityCommitment, challenger, kind, toTreasury, toBurn] }],
        transfers: [],
        apply: () => {
            d.status = Status.Slashed;
            d.pending = undefined;
            m.pendingTreasury += toTreasury;
            m.pendingBurn += toBurn;
            if (toBurn > 0n) h.stats.count(command, "ok, with burned penalties");
        }
    };
}

function withdrawing(m: RegistryModel, t: Target, open: boolean, match: (d: ModelDeposit) => boolean): number {
    const isOpen = (d: ModelDeposit) => m.now < d.withdrawalRequestedAt + m.terms.challengeWindow;
    return pick(
        m,
        t,
        (s, i) => s === Status.Withdrawing && match(m.deposit(m.identity(i).commitment)!) && (!open || isOpen(m.deposit(m.identity(i).commitment)!)),
        (s, i) => s === Status.Withdrawing && match(m.deposit(m.identity(i).commitment)!),
        (s) => s === Status.Withdrawing
    );
}

type ChallengeVariant = "ok" | "altered request" | "altered proof input";

/** challengeStaleBase with a Fold proof the gateway recorded (or, unmatched, any pooled one). */
class ChallengeStaleBase extends Step {
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
    protected async step(m: RegistryModel, h: Harness) {
        const command = "challengeStaleBase";
        const recorded = (d: ModelDeposit) => m.folds.has(d.pending!.request.foldNullifier);
        const index = withdrawing(m, this.target, true, (d) => !this.matching || recorded(d));
        const id = m.identity(index);
        const request = presentedRequest(m, index);
        // Only the user can make a Fold proof: the challenger holds the ones the gateway recorded. Pooled proofs
        // nobody made serve only where they cannot match the request (to reach the other checks).
        const usable = m.pool.identities.flatMap((i) => i.folds).filter((f) => m.folds.has(f.foldNullifier) || f.foldNullifier !== request.foldNullifier);
        const fold =
            (this.matching ? usable.find((f) => f.foldNullifier === request.foldNullifier) : undefined) ?? usable[this.proofPick % usable.length]!;
        const presented = this.variant === "altered request" ? { ...request, burned: request.burned + 1n } : request;
        const newBase: [bigint, bigint] = this.variant === "altered proof input" ? [fold.newBase[0], (fold.newBase[1] + 1n) % P] : fold.newBase;
        const d = m.deposit(id.commitment);
        if (m.status(id.commitment) === Status.Withdrawing) approach(m, h, command, d!.withdrawalRequestedAt + m.terms.challengeWindow, this.edge);
        const sender = h.fx.actors[this.sender]!;
        const expected =
            challengeGate(m, id.commitment, d, presented) ??
            (fold.foldNullifier === request.foldNullifier && this.variant === "ok"
                ? forfeited(m, h, command, d!, ChallengeKind.StaleBase, sender.address)
                : fails("InvalidChallengeProof", id.commitment, ChallengeKind.StaleBase));
        await h.call(m, command, () => h.fx.registry.connect(sender).challengeStaleBase(id.commitment, presented, newBase, fold.proof), expected);
    }
    toString() {
        return `challengeStaleBase(${JSON.stringify(this.target)}, ${this.matching ? "matching" : `proof ${this.proofPick}`}, ${this.variant}, sender ${this.sender}, edge ${this.edge})`;
    }
}

/**
 * Which Spend proof a ticket challenge uses: one whose nullifier the request discloses ("matching"),
 * one of a ticket whose charge the provider withheld, at the very slot that ticket falls in ("withheld":
 * the provider's attack on an honest user who declared it), or any ("any").
 */
type TicketChoice = "matching" | "withheld" | "any";

/** challengeUndeclaredTicket with a Spend proof the provider's store recorded. */
class ChallengeUndeclaredTicket extends Step {
    constructor(
        readonly target: Target,
        readonly choice: TicketChoice,
        readonly proofPick: number,
        readonly slotPick: number,
        readonly variant: ChallengeVariant,
        readonly sender: number,
        readonly edge: number | null
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const command = "challengeUndeclaredTicket";
        const disclosedAndSeen = (r: Request) => r.slotNullifiers.some((n, j) => !isDeclared(r, j) && m.store.has(n));
        const withheldOf = (i: number) => m.identity(i).tickets.filter((t) => t.withheld && m.store.has(t.nullifier));
        const index = withdrawing(m, this.target, true, (d) =>
            this.choice === "matching"
                ? disclosedAndSeen(d.pending!.request)
                : this.choice === "withheld"
                  ? withheldOf(m.pool.identities.findIndex((i) => i.commitment === d.identityCommitment)).length > 0
                  : true
        );
        const id = m.identity(index);
        const request = presentedRequest(m, index);
        // Only the user can make a Spend proof: the challenger holds the ones the provider was served. Pooled proofs
        // nobody made serve only where they cannot match the request (to reach the other checks).
        const served: PooledTicket[] = m.pool.identities
            .flatMap((i) => i.tickets)
            .filter((t) => m.store.has(t.nullifier) || !request.slotNullifiers.includes(t.nullifier));
        let slot = this.slotPick % (TICKET_WINDOW + 2); // 8 and 9: outside the window
        let ticket = served[this.proofPick % served.length]!;
        if (this.choice === "matching") {
            const disclosed = request.slotNullifiers.findIndex((n, j) => !isDeclared(request, j) && m.store.has(n));
            if (disclosed >= 0) {
                slot = disclosed;
                ticket = served.find((t) => t.nullifier === request.slotNullifiers[disclosed])!;
            }
        }
        const pending = m.deposit(id.commitment)?.pending;
        const withheld = withheldOf(index);
        if (this.choice === "withheld" && pending !== undefined && withheld.length > 0) {
            ticket = withheld[this.proofPick % withheld.length]!;
            const offset = ticket.index - pending.effective;
            if (offset >= 0 && offset < TICKET_WINDOW) slot = offset;
        }
        const presented = this.variant === "altered request" ? { ...request, burned: request.burned + 1n } : request;
        const signals = { ...ticket.signals };
        if (this.variant === "altered proof input") signals.y = (signals.y + 1n) % P;
        const d = m.deposit(id.commitment);
        if (m.status(id.commitment) === Status.Withdrawing) approach(m, h, command, d!.withdrawalRequestedAt + m.terms.challengeWindow, this.edge);
        const sender = h.fx.actors[this.sender]!;
        let expected = challengeGate(m, id.commitment, d, presented);
        if (expected === undefined) {
            if (slot >= TICKET_WINDOW) expected = fails("InvalidSlot", BigInt(slot), BigInt(TICKET_WINDOW));
            else if (isDeclared(request, slot)) expected = fails("SlotDeclared", id.commitment, BigInt(slot));
            else if (ticket.nullifier === request.slotNullifiers[slot] && this.variant === "ok") {
                expected = forfeited(m, h, command, d!, ChallengeKind.UndeclaredTicket, sender.address);
            } else expected = fails("InvalidChallengeProof", id.commitment, ChallengeKind.UndeclaredTicket);
        }
        await h.call(m, command, () => h.fx.registry.connect(sender).challengeUndeclaredTicket(id.commitment, presented, slot, signals, ticket.proof), expected);
    }
    toString() {
        return `challengeUndeclaredTicket(${JSON.stringify(this.target)}, ${this.choice}, proof ${this.proofPick}, slot ${this.slotPick}, ${this.variant}, sender ${this.sender}, edge ${this.edge})`;
    }
}

/** challengeDisclosure: the published nullifiers do not hash to the proof's. */
class ChallengeDisclosure extends Step {
    constructor(
        readonly target: Target,
        readonly altered: boolean,
        readonly sender: number,
        readonly edge: number | null
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const command = "challengeDisclosure";
        const inconsistent = (r: Request) => slotNullifiersHash(r.slotNullifiers) !== r.slotNullifiersHash;
        const index = withdrawing(m, this.target, true, (d) => inconsistent(d.pending!.request));
        const id = m.identity(index);
        const request = presentedRequest(m, index);
        const presented = this.altered ? { ...request, recipient: otherActor(h, request.recipient, this.sender) } : request;
        const d = m.deposit(id.commitment);
        if (m.status(id.commitment) === Status.Withdrawing) approach(m, h, command, d!.withdrawalRequestedAt + m.terms.challengeWindow, this.edge);
        const sender = h.fx.actors[this.sender]!;
        const expected =
            challengeGate(m, id.commitment, d, presented) ??
            (inconsistent(request) ? forfeited(m, h, command, d!, ChallengeKind.Disclosure, sender.address) : fails("DisclosureConsistent", id.commitment));
        await h.call(m, command, () => h.fx.registry.connect(sender).challengeDisclosure(id.commitment, presented), expected);
    }
    toString() {
        return `challengeDisclosure(${JSON.stringify(this.target)}${this.altered ? ", altered request" : ""}, sender ${this.sender}, edge ${this.edge})`;
    }
}

/** Has the token refuse `address` from now on (if the blocklist may name it and does not yet). */
async function refuse(m: RegistryModel, h: Harness, address: string): Promise<void> {
    const key = getAddress(address);
    if (m.isBlocked(key) || !h.fx.blockable.map((a) => getAddress(a)).includes(key)) return;
    await h.setup(m, () => h.fx.token.setBlocked(key, true));
    m.blocked.add(key);
}

/** Has the token accept `address` again. */
async function accept(m: RegistryModel, h: Harness, address: string): Promise<void> {
    const key = getAddress(address);
    if (!m.isBlocked(key)) return;
    await h.setup(m, () => h.fx.token.setBlocked(key, false));
    m.blocked.delete(key);
}

class Finalize extends Step {
    constructor(
        readonly target: Target,
        readonly altered: boolean,
        readonly refused: boolean,
        readonly sender: number,
        readonly edge: number | null
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const index = pick(m, this.target, (s) => s === Status.Withdrawing);
        const id = m.identity(index);
        const request = presentedRequest(m, index);
        // The token refuses the recipient (a blocklist entry made just before the payout).
        if (this.refused) await refuse(m, h, request.recipient);
        const presented = this.altered ? { ...request, recipient: otherActor(h, request.recipient, this.sender) } : request;
        const d = m.deposit(id.commitment);
        const status = m.status(id.commitment);
        if (status === Status.Withdrawing) approach(m, h, "finalizeWithdrawal", d!.withdrawalRequestedAt + m.terms.challengeWindow, this.edge);
        let expected: Expectation;
        if (status !== Status.Withdrawing) expected = fails("UnexpectedDepositStatus", id.commitment, status);
        else if (requestHash(presented) !== requestHash(d!.pending!.request)) expected = fails("WithdrawalRequestMismatch", id.commitment);
        else if (m.now < d!.withdrawalRequestedAt + m.terms.challengeWindow) {
            expected = fails("ChallengeWindowOpen", id.commitment, d!.withdrawalRequestedAt + m.terms.challengeWindow);
        } else {
            const { refund, toTreasury, toBurn } = m.settlement(d!.amount, request);
            const deferred = refund > 0n && m.isBlocked(request.recipient);
            const honest = d!.pending!.honest;
            expected = {
                ok: true,
                events: [
                    { name: "WithdrawalFinalized", args: [id.commitment, request.recipient, refund, toTreasury, toBurn] },
                    ...(deferred ? [{ name: "RefundDeferred", args: [id.commitment, request.recipient, refund] }] : [])
                ],
                transfers: refund > 0n && !deferred ? [{ from: h.fx.registryAddress, to: request.recipient, value: refund }] : [],
                apply: () => {
                    d!.status = Status.Withdrawn;
                    d!.pending = undefined;
                    m.pendingTreasury += toTreasury;
                    m.pendingBurn += toBurn;
                    if (deferred) m.owe(request.recipient, refund);
                    else m.credit(request.recipient, refund);
                    if (deferred) h.stats.count("finalizeWithdrawal", "ok, refund deferred");
                    if (request.declaredSlots !== 0n) h.stats.count("finalizeWithdrawal", "ok, with declared slots");
                    if (refund === 0n) h.stats.count("finalizeWithdrawal", "ok, nothing to refund");
                    if (honest) h.stats.count("finalizeWithdrawal", "ok, honest");
                }
            };
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "finalizeWithdrawal", () => h.fx.registry.connect(sender).finalizeWithdrawal(id.commitment, presented), expected);
    }
    toString() {
        return `finalizeWithdrawal(${JSON.stringify(this.target)}${this.altered ? ", altered request" : ""}${this.refused ? ", recipient refused" : ""}, sender ${this.sender}, edge ${this.edge})`;
    }
}

/** claimRefund for an address owed a refund (or any actor). */
class ClaimRefund extends Step {
    constructor(
        readonly owed: boolean,
        readonly accepted: boolean,
        readonly pickIndex: number,
        readonly sender: number
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const creditors = [...m.refundsOwed.entries()].filter(([, v]) => v > 0n).map(([a]) => a);
        const recipient = this.owed && creditors.length > 0 ? creditors[this.pickIndex % creditors.length]! : getAddress(h.fx.actors[this.pickIndex % ACTORS]!.address);
        // The token accepts the recipient again (its blocklist entry lifted).
        if (this.accepted) await accept(m, h, recipient);
        const owed = m.refundsOwed.get(recipient) ?? 0n;
        let expected: Expectation;
        if (owed === 0n) expected = fails("NothingOwed", recipient);
        else if (m.isBlocked(recipient)) expected = fails("RefundRefused", recipient, owed);
        else {
            expected = {
                ok: true,
                events: [{ name: "RefundClaimed", args: [recipient, owed] }],
                transfers: [{ from: h.fx.registryAddress, to: recipient, value: owed }],
                apply: () => {
                    m.refundsOwed.delete(recipient);
                    m.credit(recipient, owed);
                }
            };
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "claimRefund", () => h.fx.registry.connect(sender).claimRefund(recipient), expected);
    }
    toString() {
        return `claimRefund(${this.owed ? "owed" : "any"} ${this.pickIndex}${this.accepted ? ", accepted" : ""}, sender ${this.sender})`;
    }
}

/** The token starts or stops refusing an address (a recipient, the treasury or the burn address). */
class Block extends Step {
    constructor(
        readonly pickIndex: number,
        readonly block: boolean
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        const address = getAddress(h.fx.blockable[this.pickIndex % h.fx.blockable.length]!);
        await h.setup(m, () => h.fx.token.setBlocked(address, this.block));
        if (this.block) m.blocked.add(address);
        else m.blocked.delete(address);
        h.stats.count("token blocklist", this.block ? "blocked" : "unblocked");
    }
    toString() {
        return `${this.block ? "block" : "unblock"}(${this.pickIndex})`;
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

/** sweep: each leg paid on its own; a leg the token refuses stays pending. */
class Sweep extends Step {
    constructor(
        readonly sender: number,
        readonly refusedLeg: "none" | "treasury" | "burn"
    ) {
        super();
    }
    protected async step(m: RegistryModel, h: Harness) {
        // The token refuses one recipient of the sweep (a blocklist entry made just before).
        if (this.refusedLeg !== "none") await refuse(m, h, this.refusedLeg === "treasury" ? h.fx.treasury.address : BURN_ADDRESS);
        const toTreasury = m.pendingTreasury;
        const toBurn = m.pendingBurn;
        const treasury = h.fx.treasury.address;
        const treasuryPaid = toTreasury > 0n && !m.isBlocked(treasury);
        const burnPaid = toBurn > 0n && !m.isBlocked(BURN_ADDRESS);
        let expected: Expectation;
        if (toTreasury === 0n && toBurn === 0n) expected = fails("NothingToSweep");
        else if (!treasuryPaid && !burnPaid) expected = fails("SweepRefused", toTreasury, toBurn);
        else {
            expected = {
                ok: true,
                events: [{ name: "Swept", args: [treasury, treasuryPaid ? toTreasury : 0n, burnPaid ? toBurn : 0n] }],
                transfers: [
                    ...(treasuryPaid ? [{ from: h.fx.registryAddress, to: treasury, value: toTreasury }] : []),
                    ...(burnPaid ? [{ from: h.fx.registryAddress, to: BURN_ADDRESS, value: toBurn }] : [])
                ],
                apply: () => {
                    if (treasuryPaid) {
                        m.credit(treasury, toTreasury);
                        m.pendingTreasury = 0n;
                    }
                    if (burnPaid) {
                        m.credit(BURN_ADDRESS, toBurn);
                        m.pendingBurn = 0n;
                    }
                    if ((toTreasury > 0n && !treasuryPaid) || (toBurn > 0n && !burnPaid)) h.stats.count("sweep", "ok, one leg refused");
                }
            };
        }
        const sender = h.fx.actors[this.sender]!;
        await h.call(m, "sweep", () => h.fx.registry.connect(sender).sweep(), expected);
    }
    toString() {
        return `sweep(sender ${this.sender}${this.refusedLeg === "none" ? "" : `, ${this.refusedLeg} refused`})`;
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
    const challengeVariant = fc.constantFrom<ChallengeVariant>("ok", "ok", "ok", "altered request", "altered proof input");
    const matching = fc.nat({ max: 3 }).map((n) => n > 0);
    const weighted: [number, fc.Arbitrary<Cmd>][] = [
        [2, fc.tuple(target, payer, fc.nat({ max: 5 })).map(([t, a, s]) => new RegisterPlanned(t, a, s === 0))],
        [1, fc.tuple(bigIdc, amount, payer).map(([i, v, a]) => new RegisterArbitrary(i, v, a))],
        [9, target.map((t) => new Spend(t))],
        [6, target.map((t) => new Fold(t))],
        [1, fc.tuple(target, fc.nat()).map(([t, p]) => new DoubleSpend(t, p))],
        [
            2,
            fc
                .tuple(target, fc.nat({ max: 1 }), fc.constantFrom<SlashVariant>("ok", "ok", "ok", "copied to another receiver", "zero receiver"), actor)
                .map(([t, r, v, a]) => new Slash(t, r, v, a))
        ],
        [
            2,
            fc
                .tuple(
                    target,
                    fc.nat({ max: 1 }),
                    fc.constantFrom<SlashWithdrawalVariant>("ok", "ok", "ok", "copied to another receiver", "zero receiver", "altered request"),
                    actor
                )
                .map(([t, r, v, a]) => new SlashWithdrawal(t, r, v, a))
        ],
        [
            7,
            fc
                .tuple(
                    target,
                    fc.nat({ max: 1 }).map((n) => n === 0),
                    fc.nat(),
                    fc.constantFrom<WithdrawVariant>(
                        "ok",
                        "ok",
                        "ok",
                        "ok",
                        "ok",
                        "other recipient",
                        "zero recipient",
                        "non-canonical fold nullifier",
                        "non-canonical hash",
                        "declared slot disclosed",
                        "undeclared slot empty",
                        "altered totals",
                        "disguised disclosure"
                    ),
                    actor
                )
                .map(([t, older, p, v, a]) => new RequestWithdrawal(t, older, p, v, a))
        ],
        [5, fc.tuple(target, matching, fc.nat(), challengeVariant, actor, edge).map(([t, mt, p, v, a, e]) => new ChallengeStaleBase(t, mt, p, v, a, e))],
        [
            5,
            fc
                .tuple(target, fc.constantFrom<TicketChoice>("matching", "matching", "withheld", "withheld", "any"), fc.nat(), fc.nat(), challengeVariant, actor, edge)
                .map(([t, c, p, s, v, a, e]) => new ChallengeUndeclaredTicket(t, c, p, s, v, a, e))
        ],
        [2, fc.tuple(target, fc.nat({ max: 4 }).map((n) => n === 0), actor, edge).map(([t, x, a, e]) => new ChallengeDisclosure(t, x, a, e))],
        [
            5,
            fc
                .tuple(target, fc.nat({ max: 5 }).map((n) => n === 0), fc.nat({ max: 3 }).map((n) => n === 0), actor, edge)
                .map(([t, altered, refused, a, e]) => new Finalize(t, altered, refused, a, e))
        ],
        [
            3,
            fc
                .tuple(fc.nat({ max: 7 }).map((n) => n > 0), fc.nat({ max: 3 }).map((n) => n > 0), fc.nat(), actor)
                .map(([o, x, p, a]) => new ClaimRefund(o, x, p, a))
        ],
        [3, fc.tuple(fc.nat(), fc.boolean()).map(([p, b]) => new Block(p, b))],
        [
            1,
            fc
                .tuple(target, fc.boolean(), actor, fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: offset }))
                .map(([t, x, a, e]) => new ClaimExpired(t, x, a, e))
        ],
        [
            1,
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
        [3, fc.tuple(actor, fc.constantFrom<"none" | "treasury" | "burn">("none", "none", "none", "none", "treasury", "burn")).map(([a, r]) => new Sweep(a, r))],
        [
            5,
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
