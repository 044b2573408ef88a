import { expect } from "chai";
import { ClientAdmission, clientKey } from "@zk-api-credits/provider";

// Admission control's two layers (issue 11 item 7), on a clock the tests move: each client's
// budget of failures, and the budget the clients the gateway does not know share, which a flood
// of junk from more addresses than the first layer covers runs into, while known clients (a
// proof of theirs recorded something new) are never throttled by it. Every admitted check ends
// in failed() or released(). The gateway under a real flood: test/gateway/abuse.test.ts.
describe("Client admission", function () {
    let clock: number;
    const now = (): number => clock;
    const admission = (): ClientAdmission => new ClientAdmission({ burst: 2, refillPerSecond: 1, newClients: { burst: 3, refillPerSecond: 1 }, knownForMs: 60_000, now });
    /** One junk proof from `address`: admitted, then failed. */
    const junk = (gate: ClientAdmission, address: string): string => {
        const verdict = gate.admit(address);
        if (verdict === "admitted") gate.failed(address);
        return verdict;
    };

    beforeEach(function () {
        clock = 1_000_000;
    });

    it("Should hold a unit of the new clients' budget for each of their checks in flight, give it back when the check passes or never runs, and throttle beyond it", function () {
        const gate = admission();
        expect(["10.0.0.1", "10.0.0.2", "10.0.0.3"].map((a) => gate.admit(a))).to.deep.equal(["admitted", "admitted", "admitted"]);
        expect(gate.stats.newClientBudget).to.equal(0);
        expect(gate.stats.newClientsHeld).to.equal(3);
        // Held, not failed: honest checks in flight are not a flood, nothing is checked alone.
        expect(gate.suspect("10.0.0.9")).to.equal(false);
        expect(gate.admit("10.0.0.4"), "at most 3 checks of new clients at once").to.equal("new-clients-throttled");
        gate.released("10.0.0.1"); // passed
        gate.released("10.0.0.2"); // never ran (a malformed ticket, an old root)
        expect(gate.stats.newClientBudget).to.equal(2);
        expect(gate.admit("10.0.0.4")).to.equal("admitted");
        gate.released("10.0.0.3");
        gate.released("10.0.0.4");
        expect(gate.stats).to.include({ newClientBudget: 3, newClientsHeld: 0, throttled: 1 });
    });

    it("Should bound junk from ever-new addresses by the shared budget, concurrency included, and check new clients alone once it fails", function () {
        const gate = admission();
        // Many junk tickets in flight at once from fresh addresses, each far within its own budget.
        const verdicts = Array.from({ length: 10 }, (_, i) => gate.admit(`10.0.1.${i}`));
        expect(verdicts.filter((v) => v === "admitted")).to.have.length(3);
        for (let i = 0; i < 3; i++) gate.failed(`10.0.1.${i}`);
        expect(gate.stats).to.include({ newClientBudget: 0, newClientsHeld: 0 });
        expect(gate.suspect("10.0.1.50"), "a new client while new clients fail").to.equal(true);
        expect(junk(gate, "10.0.1.20")).to.equal("new-clients-throttled");
        // One failure forgiven per second: one more junk check per second.
        clock += 1_000;
        expect(junk(gate, "10.0.1.21")).to.equal("admitted");
        expect(junk(gate, "10.0.1.22")).to.equal("new-clients-throttled");
        expect(gate.stats.refusals, "no address spent its own budget").to.equal(0);
    });

    it("Should never throttle a known client, and make a client known only when a proof of its records something new", function () {
        const gate = admission();
        gate.admit("10.0.0.99");
        gate.released("10.0.0.99"); // its proof passed, but the ticket was a replay: not known
        for (const address of ["10.0.1.1", "10.0.1.2", "10.0.1.3"]) junk(gate, address);
        expect(gate.admit("10.0.0.99")).to.equal("new-clients-throttled");
        gate.recorded("10.0.0.99");
        expect(gate.admit("10.0.0.99"), "known").to.equal("admitted");
        expect(gate.stats.newClientsHeld, "a known client holds nothing").to.equal(0);
        expect(gate.suspect("10.0.0.99")).to.equal(false);
        expect(gate.admit("10.0.1.4", "signature"), "a look-up costs no pairing: the per-client budget only").to.equal("admitted");
    });

    it("Should count a failed look-up against its client's own budget only: the shared budget and the known clients stay", function () {
        const gate = admission();
        gate.recorded("10.0.2.1");
        gate.admit("10.0.2.1", "signature");
        gate.failed("10.0.2.1", "signature");
        for (let i = 0; i < 4; i++) {
            gate.admit(`10.0.3.${i}`, "signature");
            gate.failed(`10.0.3.${i}`, "signature");
        }
        expect(gate.stats).to.include({ newClientBudget: 3, known: 1 });
        expect(gate.suspect("10.0.4.1")).to.equal(false);
        expect(gate.suspect("10.0.3.0"), "its own budget is spent in part").to.equal(true);
    });

    it("Should spend a new client's held unit once when it fails, even if another of its checks made it known meanwhile", function () {
        const gate = admission();
        expect(gate.admit("10.0.5.1")).to.equal("admitted");
        expect(gate.admit("10.0.5.1")).to.equal("admitted");
        gate.released("10.0.5.1");
        gate.recorded("10.0.5.1"); // the first check passed and recorded a new ticket
        gate.failed("10.0.5.1"); // the second one fails
        expect(gate.stats).to.include({ newClientsHeld: 0, newClientBudget: 2 });
        clock += 1_000;
        expect(gate.stats.newClientBudget).to.equal(3);
    });

    it("Should forget a known client after knownForMs, or at its first failed proof", function () {
        const gate = admission();
        gate.recorded("10.0.3.1");
        gate.recorded("10.0.3.2");
        for (const address of ["10.0.1.1", "10.0.1.2", "10.0.1.3"]) junk(gate, address);
        expect(gate.admit("10.0.3.1")).to.equal("admitted");
        gate.released("10.0.3.1");
        // A known client's failure spends its own budget, not the new clients': it is a client like any other then.
        gate.admit("10.0.3.2");
        gate.failed("10.0.3.2");
        expect(gate.suspect("10.0.3.2")).to.equal(true);
        expect(gate.stats).to.include({ known: 1, newClientBudget: 0 });
        clock += 60_000;
        expect(gate.stats.newClientBudget, "refilled meanwhile").to.equal(3);
        for (const address of ["10.0.1.4", "10.0.1.5", "10.0.1.6"]) junk(gate, address);
        expect(gate.admit("10.0.3.1"), "known 60 s ago").to.equal("new-clients-throttled");
    });

    it("Should keep the per-client budget: a client over it is refused whatever it is, and a suspect's passing check gives its unit back", function () {
        const gate = admission();
        gate.recorded("10.0.4.1");
        gate.admit("10.0.4.1");
        gate.failed("10.0.4.1");
        expect(gate.admit("10.0.4.1")).to.equal("admitted"); // holds its last unit...
        gate.released("10.0.4.1"); // ...and gets it back: the check passed
        expect(gate.admit("10.0.4.1")).to.equal("admitted");
        gate.failed("10.0.4.1");
        expect(gate.admit("10.0.4.1")).to.equal("rate-limited");
        expect(gate.stats.refusals).to.equal(1);
    });

    it("Should remember at most maxClients known clients", function () {
        const gate = new ClientAdmission({ maxClients: 4, now });
        for (let i = 0; i < 10; i++) gate.recorded(`10.0.5.${i}`);
        expect(gate.stats.known).to.equal(4);
        expect(gate.admit("10.0.5.9")).to.equal("admitted");
        expect(gate.stats.newClientsHeld, "the most recent is still known").to.equal(0);
        expect(clientKey("::ffff:10.0.5.9")).to.equal("10.0.5.9");
    });
});
