import { expect } from "chai";
import { ClientAdmission } from "@zk-api-credits/provider";
import type { AdmissionRefusal, AdmittedCheck, CheckKind, ProofAdmission } from "@zk-api-credits/provider";
import type { ZkApiClient } from "@zk-api-credits/sdk";
import { chargedIndices, chat, recorder, sdkUser, startSdkStack } from "./support/sdk-stack";
import type { SdkStack } from "./support/sdk-stack";

// A new client during a flood of junk from many addresses (issue 11 item 7): the gateway refuses
// it 503 NEW_CLIENTS_THROTTLED before any check, and the SDK sends the same ticket again after
// a pause, as for RATE_LIMITED; the request is served on one index, nothing lost.
describe("SDK client: a gateway throttling new clients", function () {
    let s: SdkStack;
    let client: ZkApiClient | undefined;
    let clock = 1_000_000;
    /** What each proof check was answered: throttled (at admission or at its pairing), or held (look-ups, a request signature each, hold nothing). */
    const verdicts: string[] = [];
    const inner = new ClientAdmission({ newClients: { burst: 1, refillPerSecond: 1 }, now: () => clock });
    // The admission of the gateway, on a clock that moves one second each time it throttles (as a waiting client's time would pass).
    const admission: ProofAdmission = {
        admit(client: string, kind?: CheckKind): AdmittedCheck | AdmissionRefusal {
            const check = inner.admit(client, kind);
            if (check === "new-clients-throttled") {
                verdicts.push(check);
                clock += 1_000;
            }
            if (typeof check === "string" || kind === "signature") return check;
            return {
                holdForProof() {
                    const held = check.holdForProof();
                    verdicts.push(typeof held === "string" ? held : "held");
                    if (held === "new-clients-throttled") clock += 1_000;
                    return held;
                },
                failed: () => check.failed(),
                released: () => check.released()
            };
        },
        recorded: (client) => inner.recorded(client),
        suspect: (client) => inner.suspect(client)
    };

    before(async function () {
        s = await startSdkStack({ gateway: { admission } });
    });

    after(async function () {
        await client?.close();
        await s?.stop();
    });

    it("Should send the same ticket again after 503 NEW_CLIENTS_THROTTLED and be served on one index", async function () {
        const user = await sdkUser(s, 5);
        client = await user.open();
        const seen = recorder(client);
        // A new client failed a proof check moments ago: the budget new clients share is spent.
        const junk = inner.admit("10.9.9.9");
        if (typeof junk === "string") throw new Error(junk);
        junk.holdForProof();
        junk.failed();
        expect(inner.stats.newClientBudget).to.equal(0);

        const answer = await client.fetch("/v1/chat/completions", chat("hello during a flood"));
        expect(answer.status, await answer.clone().text()).to.equal(200);
        // (a fold of the charged ticket may follow in the background)
        expect(verdicts.slice(0, 2)).to.deep.equal(["new-clients-throttled", "held"]);
        expect(inner.stats.throttled).to.equal(1);
        // One index charged; the client is known now (its ticket was recorded), and holds nothing.
        expect(chargedIndices(seen.charged, "request")).to.deep.equal([0n]);
        expect(inner.suspect("127.0.0.1")).to.equal(false);
        expect(inner.stats.newClientsHeld).to.equal(0);
        expect(seen.errors).to.deep.equal([]);
    });
});
