import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The gateway's Prometheus metrics (GET /metrics). */
export class GatewayMetrics {
    readonly registry = new Registry();
    readonly served = new Counter({ name: "zkapi_requests_served_total", help: "Paid requests served and signed", registers: [this.registry] });
    readonly replays = new Counter({ name: "zkapi_requests_replayed_total", help: "Repeated requests answered from the store", registers: [this.registry] });
    readonly rejected = new Counter({
        name: "zkapi_requests_rejected_total",
        help: "Requests refused, by reason code",
        labelNames: ["reason"] as const,
        registers: [this.registry]
    });
    readonly takeovers = new Counter({ name: "zkapi_lease_takeovers_total", help: "Tickets taken over from a replica whose lease expired", registers: [this.registry] });
    readonly headStarts = new Counter({
        name: "zkapi_upstream_head_starts_total",
        help: "Upstream calls started while their ticket was checked: served, or cancelled because the ticket was refused",
        labelNames: ["outcome"] as const,
        registers: [this.registry]
    });
    readonly lostRaces = new Counter({ name: "zkapi_charge_races_lost_total", help: "Charges not stored because another replica stored the ticket's charge first", registers: [this.registry] });
    readonly voided = new Counter({ name: "zkapi_tickets_voided_total", help: "Tickets closed at cost 0 by a void", registers: [this.registry] });
    readonly folds = new Counter({ name: "zkapi_folds_total", help: "Folds answered, by outcome", labelNames: ["outcome"] as const, registers: [this.registry] });
    readonly lookups = new Counter({ name: "zkapi_lookups_total", help: "Ticket look-ups, by outcome", labelNames: ["outcome"] as const, registers: [this.registry] });
    readonly doubleSpends = new Counter({ name: "zkapi_double_spends_total", help: "Tickets reused with a different request", registers: [this.registry] });
    readonly chainJobs = new Counter({
        name: "zkapi_chain_jobs_total",
        help: "On-chain jobs finished, by kind and outcome",
        labelNames: ["kind", "outcome"] as const,
        registers: [this.registry]
    });
    readonly charged = new Counter({ name: "zkapi_charged_units_total", help: "Token units charged in signed charges", registers: [this.registry] });
    readonly latency = new Histogram({
        name: "zkapi_request_duration_seconds",
        help: "Time from request to reply, including the upstream",
        buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [this.registry]
    });
    readonly verification = new Histogram({
        name: "zkapi_proof_verification_seconds",
        help: "Time to verify a ticket's proof",
        buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25],
        registers: [this.registry]
    });

    constructor() {
        collectDefaultMetrics({ register: this.registry });
    }
}
