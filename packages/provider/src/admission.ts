import { isIPv4, isIPv6 } from "node:net";
import type { AdmissionVerdict, CheckKind, ProofAdmission } from "./paid-request";

export interface ClientAdmissionOptions {
    /** Failed checks a client may accumulate before it is refused (default 8). */
    readonly burst?: number;
    /** Failures forgiven per second (default 0.2: one every 5 s). */
    readonly refillPerSecond?: number;
    /** Most clients remembered; the least recently seen is forgotten first (default 65,536). */
    readonly maxClients?: number;
    /**
     * The budget of failed proof checks that all the clients this gateway does not know share
     * (see {@link ClientAdmission}): `burst` failures (default 64), `refillPerSecond` forgiven
     * per second (default 16).
     */
    readonly newClients?: { readonly burst?: number; readonly refillPerSecond?: number };
    /** How long a client stays known after a proof of its passed (default 10 minutes). */
    readonly knownForMs?: number;
    readonly now?: () => number;
}

interface Bucket {
    /** Failures the client may still have before it is refused. */
    tokens: number;
    /** When `tokens` was last brought up to date (ms). */
    at: number;
    /** Admissions paid for in advance (a suspect client pays when admitted), not yet reported as failed. */
    prepaid: number;
}

/**
 * The key a client is counted under: its IPv4 address (also when written as an IPv4-mapped
 * IPv6 address), or the /64 prefix of its IPv6 address, since one host (one customer line)
 * usually holds a whole /64 and could otherwise rotate addresses freely.
 */
export function clientKey(address: string): string {
    const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
    if (mapped !== null && isIPv4(mapped[1]!)) return mapped[1]!;
    if (isIPv4(bare)) return bare;
    const zoneless = bare.split("%")[0]!;
    if (!isIPv6(zoneless)) return bare;
    const [head, tail] = zoneless.includes("::") ? zoneless.split("::") : [zoneless, undefined];
    const left = head === "" ? [] : head!.split(":");
    const right = tail === undefined || tail === "" ? [] : tail.split(":");
    // (an embedded IPv4 tail only ever sits in the low 64 bits, which are dropped)
    const groups = tail === undefined ? left : [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
    return `${groups
        .slice(0, 4)
        .map((group) => (parseInt(group, 16) || 0).toString(16))
        .join(":")}::/64`;
}

/**
 * Admission control of proof verification (a {@link ProofAdmission}), in two layers.
 *
 * Each client (remote address, see {@link clientKey}) has a budget of `burst` failed checks,
 * refilled at `refillPerSecond`. A failure (an invalid proof or request signature) spends one;
 * a client with less than one left is refused (429 RATE_LIMITED) before its proof costs a
 * pairing, so a flood of junk tickets from one source costs the gateway almost nothing once
 * the budget is spent. A client with a failure not yet forgiven is `suspect`: it pays one unit
 * of budget when it is admitted, not when its check fails, so however many requests it has in
 * flight at once, no more of them are checked than its budget allows; and the gateway verifies
 * its proofs on their own, never combined with others', so even its budgeted junk cannot spoil
 * an honest batch.
 *
 * A flood from more addresses than those budgets can cover (each address fails `burst` times,
 * then the next) is met by the second layer. A client is known for `knownForMs` after a proof
 * of its passed (a valid ticket costs a deposit); the clients not known share one budget of
 * failed proof checks (`newClients`). While it is full (no recent failure from new clients),
 * nothing changes. Once new clients have failed recently, a new client's proof is checked on
 * its own (so that junk never shrinks or spoils the batches of known clients' proofs) and
 * must hold one unit of that budget to be checked: given back if it passes, spent if it
 * fails; with none left, new clients are refused (503 NEW_CLIENTS_THROTTLED, retry shortly)
 * before any check. So junk from new addresses costs at most `newClients.refillPerSecond`
 * lone proof checks per second (beyond a first `newClients.burst`), and known clients, the
 * returning honest users, are never throttled by it. Request signatures of look-ups (no
 * pairing) are held to the per-client budget only.
 *
 * O(1) per call; at most `maxClients` clients are remembered in each map (a client forgotten
 * starts again with a full budget, or as not known), and a client whose budget is full is not
 * remembered among the failing. Addresses are kept in memory only, never logged or stored.
 */
export class ClientAdmission implements ProofAdmission {
    private readonly burst: number;
    private readonly refillPerMs: number;
    private readonly maxClients: number;
    private readonly newBurst: number;
    private readonly newRefillPerMs: number;
    private readonly knownForMs: number;
    private readonly now: () => number;
    /** Clients with spent budget, least recently seen first (Map order). */
    private readonly buckets = new Map<string, Bucket>();
    /** Clients known (a proof of theirs passed), with when it last did, least recent first. */
    private readonly known = new Map<string, number>();
    /** The budget new clients share, and units held by new clients' checks in flight. */
    private readonly shared: { tokens: number; at: number };
    private readonly held = new Map<string, number>();
    private refusals = 0;
    private throttled = 0;

    constructor(options: ClientAdmissionOptions = {}) {
        this.burst = Math.max(1, options.burst ?? 8);
        this.refillPerMs = Math.max(0, options.refillPerSecond ?? 0.2) / 1000;
        this.maxClients = Math.max(1, Math.floor(options.maxClients ?? 65_536));
        this.newBurst = Math.max(1, options.newClients?.burst ?? 64);
        this.newRefillPerMs = Math.max(0, options.newClients?.refillPerSecond ?? 16) / 1000;
        this.knownForMs = Math.max(0, options.knownForMs ?? 10 * 60_000);
        this.now = options.now ?? Date.now;
        this.shared = { tokens: this.newBurst, at: this.now() };
    }

    /** Whether `client` may have a check done now (a suspect client, or a new client during a flood, pays for it now). */
    admit(client: string, kind: CheckKind = "proof"): AdmissionVerdict {
        const key = clientKey(client);
        const bucket = this.current(key);
        if (bucket !== undefined && bucket.tokens < 1) {
            this.refusals++;
            return "rate-limited";
        }
        // A new client's proof, while new clients fail, holds a unit of their shared budget (a suspect's too).
        const holds = kind === "proof" && !this.isKnown(key) && this.newClientsFailing();
        if (holds && this.shared.tokens < 1) {
            this.throttled++;
            return "new-clients-throttled";
        }
        if (bucket !== undefined) {
            bucket.tokens -= 1;
            bucket.prepaid++;
        }
        if (holds) {
            this.shared.tokens -= 1;
            this.remember(this.held, key, (this.held.get(key) ?? 0) + 1);
        }
        return "admitted";
    }

    /** `client` sent a proof (or a request signature) that failed its check: one failure spent (unless paid when admitted). */
    failed(client: string): void {
        const key = clientKey(client);
        const wasKnown = this.isKnown(key);
        this.known.delete(key);
        const bucket = this.current(key) ?? { tokens: this.burst, at: this.now(), prepaid: 0 };
        if (bucket.prepaid > 0) bucket.prepaid--;
        else bucket.tokens = Math.max(0, bucket.tokens - 1);
        this.buckets.delete(key);
        this.remember(this.buckets, key, bucket);
        if (wasKnown) return;
        // A new client's failure spends the budget new clients share (the unit it held, if it held one).
        if (!this.release(key)) {
            this.refreshShared();
            this.shared.tokens = Math.max(0, this.shared.tokens - 1);
        }
    }

    /** A proof of `client`'s passed: it is known from now on (for knownForMs), and a unit it held is given back. */
    passed(client: string): void {
        const key = clientKey(client);
        if (this.release(key)) {
            this.refreshShared();
            this.shared.tokens = Math.min(this.newBurst, this.shared.tokens + 1);
        }
        this.known.delete(key);
        this.remember(this.known, key, this.now());
    }

    /** True if `client` failed a check recently, or is new while new clients fail: verify its proofs on their own. */
    suspect(client: string): boolean {
        const key = clientKey(client);
        return this.current(key) !== undefined || (!this.isKnown(key) && this.newClientsFailing());
    }

    /** Clients remembered (with a spent budget), known, proofs refused so far (per client, and new clients throttled), and the new clients' budget left. */
    get stats(): { readonly clients: number; readonly known: number; readonly refusals: number; readonly throttled: number; readonly newClientBudget: number } {
        this.refreshShared();
        return { clients: this.buckets.size, known: this.known.size, refusals: this.refusals, throttled: this.throttled, newClientBudget: this.shared.tokens };
    }

    /** The client's bucket brought up to date, or undefined if its budget is full (then forgotten). */
    private current(key: string): Bucket | undefined {
        const bucket = this.buckets.get(key);
        if (bucket === undefined) return undefined;
        const now = this.now();
        bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.refillPerMs);
        bucket.at = now;
        if (bucket.tokens >= this.burst) {
            this.buckets.delete(key);
            return undefined;
        }
        return bucket;
    }

    private isKnown(key: string): boolean {
        const since = this.known.get(key);
        if (since === undefined) return false;
        if (this.now() - since < this.knownForMs) return true;
        this.known.delete(key);
        return false;
    }

    /** True if new clients failed recently: their shared budget is not full. */
    private newClientsFailing(): boolean {
        this.refreshShared();
        return this.shared.tokens < this.newBurst;
    }

    private refreshShared(): void {
        const now = this.now();
        this.shared.tokens = Math.min(this.newBurst, this.shared.tokens + Math.max(0, now - this.shared.at) * this.newRefillPerMs);
        this.shared.at = now;
    }

    /** Releases one unit `key` held; false if it held none. */
    private release(key: string): boolean {
        const count = this.held.get(key);
        if (count === undefined) return false;
        if (count <= 1) this.held.delete(key);
        else this.held.set(key, count - 1);
        return true;
    }

    /** Sets `key` as the most recently seen entry of `map`, forgetting the least recent beyond maxClients. */
    private remember<T>(map: Map<string, T>, key: string, value: T): void {
        map.set(key, value);
        while (map.size > this.maxClients) map.delete(map.keys().next().value!);
    }
}
