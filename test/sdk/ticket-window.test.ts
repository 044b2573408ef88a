import { expect } from "chai";
import { canSpend, openTicketLimit, spendableOf } from "@zk-api-credits/protocol";
import type { RegistryTerms, Signature } from "@zk-api-credits/protocol";
import { balanceOf, contiguousCharges, estimateRequests, foldableCharges, freeIndices, newAccountRecord, nextFreeIndex } from "@zk-api-credits/sdk";
import type { AccountRecord, HeldCharge, TicketOwner, TicketRecord } from "@zk-api-credits/sdk";

const TERMS: RegistryTerms = { maxCost: 1_000n, policyPenalty: 500n, reserveBps: 1_000n };
const SIGNATURE: Signature = { R8: [0n, 1n], S: 0n };
const charge = (cost: bigint, penalty = 0n): HeldCharge => ({ cost, penalty, signature: SIGNATURE });
const live: TicketOwner = { id: "live", pid: 1, host: "h" };
const dead: TicketOwner = { id: "dead", pid: 2, host: "h" };
const alive = (owner: TicketOwner): boolean => owner.id === "live";

function account(deposit: bigint, changes: Partial<AccountRecord> = {}): AccountRecord {
    return { ...newAccountRecord({ chainId: 1n, registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3", identityCommitment: 5n, deposit, leafIndex: 0, registrationBlock: 0 }), ...changes };
}

function tickets(entries: Record<number, TicketRecord>): Record<string, TicketRecord> {
    return Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, v]));
}

describe("SDK ticket window", function () {
    describe("# allocation", function () {
        it("Should take the lowest index of the window that is not written down", function () {
            const record = account(1_000_000n, {
                base: { state: { spent: 3_000n, burned: 0n, folded: 4n } },
                tickets: tickets({ 4: { status: "sent", owner: live }, 5: { status: "settled" }, 7: { status: "sent", owner: dead } })
            });
            expect(nextFreeIndex(record, TERMS, alive)).to.deep.equal({ kind: "free", index: 6n });
            expect(freeIndices(record, TERMS, alive, 8)).to.deep.equal([6n, 8n, 9n, 10n, 11n]);
        });

        it("Should reuse a released index (refused before it was recorded) and a claim of a process that is gone", function () {
            const record = account(1_000_000n, { tickets: tickets({ 0: { status: "released", ticketHeader: "h" }, 1: { status: "claimed", owner: dead } }) });
            expect(freeIndices(record, TERMS, alive, 3)).to.deep.equal([0n, 1n, 2n]);
            const claimedLive = account(1_000_000n, { tickets: tickets({ 0: { status: "claimed", owner: live } }) });
            expect(nextFreeIndex(claimedLive, TERMS, alive)).to.deep.equal({ kind: "free", index: 1n });
        });

        it("Should offer exactly the indices the Spend circuit's solvency accepts (protocol canSpend)", function () {
            for (const deposit of [1_667n, 3_000n, 5_000n, 9_999n, 13_334n, 1_000_000n]) {
                for (const spent of [0n, 700n, 1_400n]) {
                    const base = { spent, burned: 0n, folded: 6n };
                    const record = account(deposit, { base: { state: base } });
                    const offered = freeIndices(record, TERMS, alive, 8);
                    const accepted = Array.from({ length: 10 }, (_, o) => 6n + BigInt(o)).filter((i) => canSpend(base, i, deposit, TERMS));
                    expect(offered, `deposit ${deposit} spent ${spent}`).to.deep.equal(accepted);
                    expect(offered.length).to.equal(openTicketLimit(base, deposit, TERMS));
                }
            }
        });

        it("Should say full while every index the deposit can reserve is open, insolvent when it can reserve none, closed while withdrawing", function () {
            const full = account(3_500n, { tickets: tickets({ 0: { status: "sent", owner: live }, 1: { status: "settled" } }) });
            expect(openTicketLimit(full.base.state, 3_500n, TERMS)).to.equal(2);
            expect(nextFreeIndex(full, TERMS, alive)).to.deep.equal({ kind: "full" });
            const poor = account(3_500n, { base: { state: { spent: 2_000n, burned: 0n, folded: 2n } } });
            expect(nextFreeIndex(poor, TERMS, alive)).to.deep.equal({ kind: "insolvent" });
            const closing = account(1_000_000n, { withdrawal: { phase: "resolving", recipient: "0x0000000000000000000000000000000000000001" } });
            expect(nextFreeIndex(closing, TERMS, alive)).to.deep.equal({ kind: "closed" });
            expect(freeIndices(closing, TERMS, alive, 8)).to.deep.equal([]);
        });

        it("Should say insolvent when the last charges cannot be folded: a window of one ticket, its charge held", function () {
            // spendable 1,800: one ticket (1,500) fits on base 0, two do not; a fold needs K = 2 charges.
            const record = account(2_000n, { charges: { "0": charge(100n) }, tickets: tickets({ 0: { status: "settled" } }) });
            expect(openTicketLimit(record.base.state, 2_000n, TERMS)).to.equal(1);
            expect(nextFreeIndex(record, TERMS, alive)).to.deep.equal({ kind: "insolvent" });
            const balance = balanceOf(record, TERMS);
            expect(balance.unspent).to.equal(1_700n);
            expect(balance.canPay).to.equal(false);
            expect(balance.available).to.equal(0n);
            // While that ticket was open, the request after it had to wait, not fail.
            const open = account(2_000n, { tickets: tickets({ 0: { status: "sent", owner: live } }) });
            expect(nextFreeIndex(open, TERMS, alive)).to.deep.equal({ kind: "full" });
        });

        it("Should never let a skipped index (adopted elsewhere) be taken again", function () {
            const record = account(1_000_000n);
            expect(nextFreeIndex(record, TERMS, alive, new Set([0n, 1n]))).to.deep.equal({ kind: "free", index: 2n });
        });
    });

    describe("# folding", function () {
        it("Should fold only K contiguous charges from the base, and open at most K in a withdrawal", function () {
            const record = account(1_000_000n, { base: { state: { spent: 0n, burned: 0n, folded: 2n } }, charges: { "2": charge(5n), "4": charge(7n) } });
            expect(foldableCharges(record)).to.equal(undefined);
            expect(contiguousCharges(record, 2)).to.deep.equal([charge(5n)]);
            const ready = { ...record, charges: { ...record.charges, "3": charge(6n) } };
            expect(foldableCharges(ready)).to.deep.equal([charge(5n), charge(6n)]);
            expect(contiguousCharges(ready, 2)).to.deep.equal([charge(5n), charge(6n)]);
        });
    });

    describe("# balance", function () {
        it("Should count the base, the charges held beyond it and the worst case of every open ticket", function () {
            const deposit = 100_000n;
            const record = account(deposit, {
                base: { state: { spent: 4_000n, burned: 500n, folded: 10n } },
                charges: { "10": charge(300n), "11": charge(0n, 500n) },
                tickets: tickets({ 10: { status: "settled" }, 11: { status: "settled" }, 12: { status: "sent", owner: live }, 13: { status: "claimed", owner: live } })
            });
            const balance = balanceOf(record, TERMS);
            expect(balance.spent).to.equal(4_300n);
            expect(balance.burned).to.equal(1_000n);
            expect(balance.reserve).to.equal(10_000n);
            expect(balance.openTickets).to.equal(2);
            expect(balance.reservedByOpenTickets).to.equal(3_000n);
            expect(balance.available).to.equal(spendableOf(deposit, TERMS.reserveBps) - 4_300n - 1_000n - 3_000n);
            expect(balance.canPay).to.equal(true);
            expect(balance.requests).to.equal(12n);
        });

        it("Should estimate the requests left: each needs maxCost + policyPenalty free while open, then costs its price", function () {
            const record = account(10_000n); // spendable 9,000
            const balance = balanceOf(record, TERMS);
            expect(estimateRequests(balance, TERMS, 100n)).to.equal(76n); // (9,000 − 1,500) / 100 + 1
            expect(estimateRequests(balance, TERMS, 1_000n)).to.equal(8n);
            const poor = balanceOf(account(1_600n), TERMS); // spendable 1,440 < 1,500
            expect(poor.canPay).to.equal(false);
            expect(estimateRequests(poor, TERMS, 1n)).to.equal(0n);
        });
    });
});
