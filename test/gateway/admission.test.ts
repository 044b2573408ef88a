import { expect } from "chai";
import { ClientAdmission, clientKey } from "@zk-api-credits/provider";
import type { AdmittedCheck, CheckKind } from "@zk-api-credits/provider";

// Admission control's two layers (issue 11 item 7), on a clock the tests move: each client's
// budget of failures, and the budget the clients the gateway does not know share, which a flood
// of junk from more addresses than the first layer covers runs into, while known clients (a
// proof of theirs recorded something new) are not throttled by it. Each admitted check is a
// handle that ends in failed() or released(). The gateway under a real flood:
// test/gateway/abuse.test.ts.
describe("Client admission", function () {
    let clock: number;
    const now = (): number => clock;
    const admission = (): ClientAdmission => new ClientAdmission({ burst: 2, refillPerSecond: 1, newClients: { burst: 3, refillPerSecond: 1 }, knownForMs: 60_000, now });
    /** A check admitted (throws on a refusal). */
    const admitted = (gate: ClientAdmission, address: string, kind: CheckKind = "proof"): AdmittedCheck => {
        const check = gate.admit(address, kind);
        if (typeof check === "string") throw new Error(`${address} refused: ${check}`);
        return check;
    };
    /** A proof check up to its pairing: the handle, or the refusal. */
    const proof = (gate: ClientAdmission, address: string): AdmittedCheck | string => {
        const check = gate.admit(address);
        if (typeof check === "string") return check;
        const held = check.holdForProof();
        if (typeof held === "string") {
            check.released();
            return held;
        }
        return check;
    };
    /** One junk proof from `address`: its refusal, or "failed". */
    const junk = (gate: ClientAdmission, address: string): string => {
        const check = proof(gate, address);
        if (typeof check === "string") return check;
        check.failed();
        return "failed";
    };

    beforeEach(function () {
        clock = 1_000_000;
    });

    it("Should hold a unit of the new clients' budget for each of their proofs in flight, give it back when the check passes or never reaches its pairing, and throttle beyond it", function () {
        const gate = admission();
        const checks = ["10.0.0.1", "10.0.0.2", "10.0.0.3"].map((a) => proof(gate, a) as AdmittedCheck);
        expect(gate.stats).to.include({ newClientBudget: 0, newClientsHeld: 3 });
        // Held, not failed: honest checks in flight are not a flood, nothing is checked alone.
        expect(gate.suspect("10.0.0.9")).to.equal(false);
        expect(proof(gate, "10.0.0.4"), "at most 3 proofs of new clients at once").to.equal("new-clients-throttled");
        checks[0]!.released(); // passed
        // Refused before its pairing (a malformed ticket, an old root): it never held a unit.
        admitted(gate, "10.0.0.5").released();
        expect(gate.stats.newClientBudget).to.equal(1);
        checks[1]!.released();
        checks[1]!.released(); // a second end of the same check changes nothing
        checks[2]!.released();
        expect(gate.stats).to.include({ newClientBudget: 3, newClientsHeld: 0, throttled: 1 });
    });

    it("Should bound junk from ever-new addresses by the shared budget, concurrency included, and check new clients alone once it fails", function () {
        const gate = admission();
        // Many junk tickets in flight at once from fresh addresses, each far within its own budget.
        const checks = Array.from({ length: 10 }, (_, i) => proof(gate, `10.0.1.${i}`));
        expect(checks.filter((c) => typeof c !== "string")).to.have.length(3);
        for (const check of checks) if (typeof check !== "string") check.failed();
        expect(gate.stats).to.include({ newClientBudget: 0, newClientsHeld: 0 });
        expect(gate.suspect("10.0.1.50"), "a new client while new clients fail").to.equal(true);
        expect(junk(gate, "10.0.1.20")).to.equal("new-clients-throttled");
        // One failure forgiven per second: one more junk check per second.
        clock += 1_000;
        expect(junk(gate, "10.0.1.21")).to.equal("failed");
        expect(junk(gate, "10.0.1.22")).to.equal("new-clients-throttled");
        expect(gate.stats.refusals, "no address spent its own budget").to.equal(0);
    });

    it("Should let no look-up give back or spend a proof's unit: a failed look-up counts against its client's own budget only", function () {
        const gate = admission();
        gate.recorded("10.0.2.1");
        const held = proof(gate, "10.0.2.9") as AdmittedCheck;
        // Look-ups from the same address, passing and failing, while its proof holds a unit.
        admitted(gate, "10.0.2.9", "signature").released();
        admitted(gate, "10.0.2.9", "signature").failed();
        expect(gate.stats).to.include({ newClientsHeld: 1, newClientBudget: 2 });
        held.released();
        const known = admitted(gate, "10.0.2.1", "signature");
        known.failed();
        expect(gate.stats).to.include({ newClientBudget: 3, known: 1 });
        expect(gate.suspect("10.0.4.1")).to.equal(false);
        expect(gate.suspect("10.0.2.9"), "its own budget is spent in part").to.equal(true);
    });

    it("Should not throttle a known client, and make a client known only when a proof of its records something new", function () {
        const gate = admission();
        (proof(gate, "10.0.0.99") as AdmittedCheck).released(); // its proof passed, but the ticket was a replay: not known
        for (const address of ["10.0.1.1", "10.0.1.2", "10.0.1.3"]) junk(gate, address);
        expect(proof(gate, "10.0.0.99")).to.equal("new-clients-throttled");
        gate.recorded("10.0.0.99");
        const check = proof(gate, "10.0.0.99") as AdmittedCheck;
        expect(gate.stats.newClientsHeld, "a known client holds nothing").to.equal(0);
        check.released();
        expect(gate.suspect("10.0.0.99")).to.equal(false);
    });

    it("Should spend a held unit once when its check fails, even if another check made its client known meanwhile", function () {
        const gate = admission();
        const first = proof(gate, "10.0.5.1") as AdmittedCheck;
        const second = proof(gate, "10.0.5.1") as AdmittedCheck;
        first.released();
        gate.recorded("10.0.5.1"); // the first check passed and recorded a new ticket
        second.failed();
        expect(gate.stats).to.include({ newClientsHeld: 0, newClientBudget: 2 });
        clock += 1_000;
        expect(gate.stats.newClientBudget).to.equal(3);
    });

    it("Should forget a known client after knownForMs, or at its first failed proof", function () {
        const gate = admission();
        gate.recorded("10.0.3.1");
        gate.recorded("10.0.3.2");
        for (const address of ["10.0.1.1", "10.0.1.2", "10.0.1.3"]) junk(gate, address);
        (proof(gate, "10.0.3.1") as AdmittedCheck).released();
        // A known client's failure spends its own budget, not the new clients': it is a client like any other then.
        expect(junk(gate, "10.0.3.2")).to.equal("failed");
        expect(gate.suspect("10.0.3.2")).to.equal(true);
        expect(gate.stats).to.include({ known: 1, newClientBudget: 0 });
        clock += 60_000;
        expect(gate.stats.newClientBudget, "refilled meanwhile").to.equal(3);
        for (const address of ["10.0.1.4", "10.0.1.5", "10.0.1.6"]) junk(gate, address);
        expect(proof(gate, "10.0.3.1"), "known 60 s ago").to.equal("new-clients-throttled");
    });

    it("Should keep the per-client budget: a client over it is refused whatever it is, and a suspect's passing check gives its unit back", function () {
        const gate = admission();
        gate.recorded("10.0.4.1");
        junk(gate, "10.0.4.1");
        admitted(gate, "10.0.4.1").released(); // held its last unit, and got it back: the check passed
        expect(junk(gate, "10.0.4.1")).to.equal("failed");
        expect(gate.admit("10.0.4.1")).to.equal("rate-limited");
        expect(gate.stats.refusals).to.equal(1);
    });

    it("Should not let a unit prepaid from a bucket since forgotten forgive a later failure", function () {
        const gate = admission();
        gate.recorded("10.0.7.1");
        junk(gate, "10.0.7.1"); // one failure: a bucket at 1 of 2
        const slow = admitted(gate, "10.0.7.1"); // prepays its last unit
        clock += 5_000; // the bucket refills and is forgotten while the check is in flight
        expect(junk(gate, "10.0.7.1")).to.equal("failed"); // a new bucket, at 1 of 2
        slow.released();
        expect(gate.suspect("10.0.7.1"), "the failure still counts").to.equal(true);
    });

    it("Should refuse a client with maxInFlight checks in flight, known or not", function () {
        const gate = new ClientAdmission({ maxInFlight: 4, now });
        gate.recorded("10.0.6.1");
        const checks = Array.from({ length: 4 }, () => admitted(gate, "10.0.6.1"));
        expect(gate.admit("10.0.6.1")).to.equal("rate-limited");
        checks[0]!.released();
        admitted(gate, "10.0.6.1").released();
    });

    it("Should remember at most maxClients known clients", function () {
        const gate = new ClientAdmission({ maxClients: 4, now });
        for (let i = 0; i < 10; i++) gate.recorded(`10.0.5.${i}`);
        expect(gate.stats.known).to.equal(4);
        (proof(gate, "10.0.5.9") as AdmittedCheck).released();
        expect(gate.stats.throttled).to.equal(0);
        expect(clientKey("::ffff:10.0.5.9")).to.equal("10.0.5.9");
    });
});
