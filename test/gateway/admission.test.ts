import { expect } from "chai";
import { ClientAdmission, clientKey } from "@zk-api-credits/provider";

// Admission control's two layers (issue 11 item 7), on a clock the tests move: each client's
// budget of failures, and the budget the clients the gateway does not know share, which a flood
// of junk from more addresses than the first layer covers runs into, while known clients (a
// proof of theirs passed) are never throttled by it. The gateway under a real flood:
// test/gateway/abuse.test.ts.
describe("Client admission", function () {
    let clock: number;
    const now = (): number => clock;
    const admission = (): ClientAdmission => new ClientAdmission({ burst: 2, refillPerSecond: 1, newClients: { burst: 3, refillPerSecond: 1 }, knownForMs: 60_000, now });

    beforeEach(function () {
        clock = 1_000_000;
    });

    it("Should admit every new client while no new client has failed, without holding any budget", function () {
        const gate = admission();
        for (let i = 0; i < 10; i++) expect(gate.admit(`10.0.0.${i}`)).to.equal("admitted");
        expect(gate.suspect("10.0.0.1")).to.equal(false);
        expect(gate.stats.newClientBudget).to.equal(3);
    });

    it("Should throttle new clients, and check them alone, once new clients' failures spend their shared budget; known clients are never throttled", function () {
        const gate = admission();
        gate.admit("10.0.0.99");
        gate.passed("10.0.0.99"); // known from now on
        // Junk from three new addresses, one each: within each address's own budget.
        gate.admit("10.0.1.1");
        gate.failed("10.0.1.1");
        expect(gate.suspect("10.0.1.50"), "a new client while new clients fail").to.equal(true);
        expect(gate.suspect("10.0.0.99"), "a known client").to.equal(false);
        for (const address of ["10.0.1.2", "10.0.1.3"]) {
            expect(gate.admit(address)).to.equal("admitted");
            gate.failed(address);
        }
        expect(gate.stats.newClientBudget).to.equal(0);
        expect(gate.admit("10.0.1.4")).to.equal("new-clients-throttled");
        expect(gate.admit("10.0.0.99"), "the known client").to.equal("admitted");
        expect(gate.admit("10.0.1.4", "signature"), "a look-up costs no pairing: the per-client budget only").to.equal("admitted");
        expect(gate.stats.throttled).to.equal(1);
        // One failure forgiven per second: one new client's check at a time.
        clock += 1_000;
        expect(gate.admit("10.0.1.5")).to.equal("admitted");
        expect(gate.admit("10.0.1.6")).to.equal("new-clients-throttled");
    });

    it("Should hold a suspect new client to the shared budget as well: rotating addresses every few failures buys nothing", function () {
        const gate = new ClientAdmission({ burst: 1_000, refillPerSecond: 0, newClients: { burst: 3, refillPerSecond: 1 }, now });
        const verdicts: string[] = [];
        for (let i = 0; i < 6; i++) {
            const verdict = gate.admit("10.0.6.1");
            verdicts.push(verdict);
            if (verdict === "admitted") gate.failed("10.0.6.1");
        }
        expect(verdicts).to.deep.equal(["admitted", "admitted", "admitted", "new-clients-throttled", "new-clients-throttled", "new-clients-throttled"]);
        expect(gate.suspect("10.0.6.1")).to.equal(true);
        expect(gate.stats.refusals, "its own budget is far from spent").to.equal(0);
    });

    it("Should give a new client's held unit back when its proof passes, and make it known", function () {
        const gate = admission();
        gate.admit("10.0.1.1");
        gate.failed("10.0.1.1"); // budget 2 of 3: new clients now hold a unit to be checked
        expect(gate.admit("10.0.2.1")).to.equal("admitted");
        expect(gate.stats.newClientBudget).to.equal(1);
        gate.passed("10.0.2.1");
        expect(gate.stats.newClientBudget).to.equal(2);
        expect(gate.suspect("10.0.2.1")).to.equal(false);
        // Spent to the last unit by junk, the budget does not throttle the client now known.
        for (const address of ["10.0.1.2", "10.0.1.3"]) {
            gate.admit(address);
            gate.failed(address);
        }
        expect(gate.stats.newClientBudget).to.equal(0);
        expect(gate.admit("10.0.2.1")).to.equal("admitted");
    });

    it("Should forget a known client after knownForMs, or at its first failure", function () {
        const gate = admission();
        gate.passed("10.0.3.1");
        gate.passed("10.0.3.2");
        for (const address of ["10.0.1.1", "10.0.1.2", "10.0.1.3"]) {
            gate.admit(address);
            gate.failed(address);
        }
        expect(gate.admit("10.0.3.1")).to.equal("admitted");
        // A known client's failure spends its own budget, not the new clients': it is a client like any other then.
        gate.failed("10.0.3.2");
        expect(gate.suspect("10.0.3.2")).to.equal(true);
        expect(gate.stats.known).to.equal(1);
        clock += 60_000;
        expect(gate.stats.newClientBudget, "refilled meanwhile").to.equal(3);
        for (const address of ["10.0.1.4", "10.0.1.5", "10.0.1.6"]) {
            gate.admit(address);
            gate.failed(address);
        }
        expect(gate.admit("10.0.3.1"), "known 60 s ago").to.equal("new-clients-throttled");
    });

    it("Should keep the per-client budget: a client over it is refused whatever it is", function () {
        const gate = admission();
        gate.passed("10.0.4.1");
        gate.failed("10.0.4.1");
        expect(gate.admit("10.0.4.1")).to.equal("admitted"); // pays its last unit
        gate.failed("10.0.4.1");
        expect(gate.admit("10.0.4.1")).to.equal("rate-limited");
        expect(gate.stats.refusals).to.equal(1);
    });

    it("Should remember at most maxClients known clients", function () {
        const gate = new ClientAdmission({ maxClients: 4, now });
        for (let i = 0; i < 10; i++) gate.passed(`10.0.5.${i}`);
        expect(gate.stats.known).to.equal(4);
        expect(clientKey("::ffff:10.0.5.9")).to.equal("10.0.5.9");
    });
});
