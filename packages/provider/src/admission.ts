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
     * The budget that all the clients this gateway does not know share (see
     * {@link ClientAdmission}): `burst` units (default 64), each held by a check in flight and
     * spent if it fails; `refillPerSecond` failures forgiven per second (default 16).
     */
    readonly newClients?: { readonly burst?: number; readonly refillPerSecond?: number };
    /** How long a client stays known after a proof of its recorded something new (default 10 minutes). */
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
 * the budget is spent. A client with a failure not yet forgiven is `suspect`: each check it
 * is admitted to holds one unit of its budget until the check ends (given back if it passes,
 * spent if it fails), so however many requests it has in flight at once, no more of them are
 * checked than its budget allows; and the gateway verifies its proofs on their own, never
 * combined with others', so even its budgeted junk cannot spoil an honest batch.
 *
 * A flood from more addresses than those budgets can cover (each address fails `burst` times,
 * then the next) is met by the second layer. A client is known for `knownForMs` after a proof
 * of its recorded something new (a ticket or a fold: a valid ticket costs a deposit). Every
 * proof check of a client not known holds a unit of one budget that all such clients share
 * (`newClients`: `burst` units, failures forgiven at `refillPerSecond`): given back when the
 * check passes or never runs, spent when it fails. With no unit free, new clients' tickets and
 * folds are refused (503 NEW_CLIENTS_THROTTLED, retry shortly) before any check. So at most
 * `newClients.burst` checks of new clients run at once, and junk from new addresses costs at
 * most `newClients.burst` failed checks, then `newClients.refillPerSecond` per second. While
 * new clients have failed recently (units spent and not yet forgiven), a new client's proof
 * is checked on its own, so that junk never shrinks or spoils the batches of known clients'
 * proofs. Known clients are never throttled by it. Request signatures of look-ups (no
 * pairing) are held to the per-client budget only.
 *
 * Every admitted check must end in exactly one of failed() or released(). O(1) per call; at
 * most `maxClients` clients are remembered in each map (a client forgotten starts again with
 * a full budget, or as not known). Addresses are kept in memory only, never logged or stored,
 * and each gateway process (each replica) keeps its own.
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
    /** Clients known (a proof of theirs recorded something new), with when it last did, least recent first. */
    private readonly known = new Map<string, number>();
    /** The budget new clients share: units free, and units held by checks in flight (by client). */
    private readonly shared: { tokens: number; at: number; held: number };
    private readonly held = new Map<string, number>();
    private refusals = 0;
    private throttled = 0;

    constructor(options: ClientAdmissionOptions = {}) {
        this.burst = Math.max(1, options.burst ?? 8);
        this.refillPerMs = Math.max(0, options.refillPerSecond ?? 0.2) / 1000;
        this.maxClients = Math.max(1, Math.floor(options.maxClients ?? 65_536));
        this.newBurst = Math.max(1, Math.floor(options.newClients?.burst ?? 64));
        this.newRefillPerMs = Math.max(0, options.newClients?.refillPerSecond ?? 16) / 1000;
        this.knownForMs = Math.max(0, options.knownForMs ?? 10 * 60_000);
        this.now = options.now ?? Date.now;
        this.shared = { tokens: this.newBurst, at: this.now(), held: 0 };
    }

    /** Whether `client` may have a check done now; an admitted check may hold budget until it ends (failed() or released()). */
    admit(client: string, kind: CheckKind = "proof"): AdmissionVerdict {
        const key = clientKey(client);
        const bucket = this.current(key);
        if (bucket !== undefined && bucket.tokens < 1) {
            this.refusals++;
            return "rate-limited";
        }
        const holds = kind === "proof" && !this.isKnown(key);
        if (holds) {
            this.refreshShared();
            if (this.shared.tokens < 1) {
                this.throttled++;
                return "new-clients-throttled";
            }
            this.shared.tokens -= 1;
            this.shared.held += 1;
            this.remember(this.held, key, (this.held.get(key) ?? 0) + 1);
        }
        if (bucket !== undefined) {
            bucket.tokens -= 1;
            bucket.prepaid++;
        }
        return "admitted";
    }

    /** An admitted check of `client`'s failed (`kind`: a proof or a look-up's signature): what it held is spent, or one failure counted. */
    failed(client: string, kind: CheckKind = "proof"): void {
        const key = clientKey(client);
        const heldUnit = this.release(key);
        const bucket = this.current(key) ?? { tokens: this.burst, at: this.now(), prepaid: 0 };
        if (bucket.prepaid > 0) bucket.prepaid--;
        else bucket.tokens = Math.max(0, bucket.tokens - 1);
        this.buckets.delete(key);
        this.remember(this.buckets, key, bucket);
        if (kind !== "proof") return;
        const wasKnown = this.isKnown(key);
        this.known.delete(key);
        // A new client's failure spends a unit of the budget new clients share (the one its check held, if any).
        if (!heldUnit && !wasKnown) {
            this.refreshShared();
            this.shared.tokens = Math.max(0, this.shared.tokens - 1);
        }
    }

    /** An admitted check of `client`'s ended without failing (it passed, or never ran): what it held is given back. */
    released(client: string): void {
        const key = clientKey(client);
        if (this.release(key)) {
            this.refreshShared();
            this.shared.tokens = Math.min(this.newBurst - this.shared.held, this.shared.tokens + 1);
        }
        const bucket = this.current(key);
        if (bucket !== undefined && bucket.prepaid > 0) {
            bucket.prepaid--;
            bucket.tokens = Math.min(this.burst, bucket.tokens + 1);
        }
    }

    /** A proof of `client`'s recorded something new (a ticket, a fold): it is known from now on (for knownForMs). */
    recorded(client: string): void {
        const key = clientKey(client);
        this.known.delete(key);
        this.remember(this.known, key, this.now());
    }

    /** True if `client` failed a check recently, or is new while new clients fail: verify its proofs on their own. */
    suspect(client: string): boolean {
        const key = clientKey(client);
        return this.current(key) !== undefined || (!this.isKnown(key) && this.newClientsFailing());
    }

    /** Clients remembered (with a spent budget), known, checks refused (per client, and new clients throttled), and the new clients' budget: free and held. */
    get stats(): {
        readonly clients: number;
        readonly known: number;
        readonly refusals: number;
        readonly throttled: number;
        readonly newClientBudget: number;
        readonly newClientsHeld: number;
    } {
        this.refreshShared();
        return { clients: this.buckets.size, known: this.known.size, refusals: this.refusals, throttled: this.throttled, newClientBudget: this.shared.tokens, newClientsHeld: this.shared.held };
    }

    /** The client's bucket brought up to date, or undefined if its budget is full and nothing is held (then forgotten). */
    private current(key: string): Bucket | undefined {
        const bucket = this.buckets.get(key);
        if (bucket === undefined) return undefined;
        const now = this.now();
        bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.refillPerMs);
        bucket.at = now;
        if (bucket.tokens >= this.burst && bucket.prepaid === 0) {
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

    /** True if new clients failed recently: units of their budget spent by failures and not yet forgiven (units held by checks in flight do not count). */
    private newClientsFailing(): boolean {
        this.refreshShared();
        return this.shared.tokens + this.shared.held < this.newBurst;
    }

    private refreshShared(): void {
        const now = this.now();
        this.shared.tokens = Math.min(this.newBurst - this.shared.held, this.shared.tokens + Math.max(0, now - this.shared.at) * this.newRefillPerMs);
        this.shared.at = now;
    }

    /** Releases one unit `key` held; false if it held none. */
    private release(key: string): boolean {
        const count = this.held.get(key);
        if (count === undefined) return false;
        if (count <= 1) this.held.delete(key);
        else this.held.set(key, count - 1);
        this.shared.held -= 1;
        return true;
    }

    /** Sets `key` as the most recently seen entry of `map`, forgetting the least recent beyond maxClients. */
    private remember<T>(map: Map<string, T>, key: string, value: T): void {
        map.delete(key);
        map.set(key, value);
        while (map.size > this.maxClients) {
            const oldest = map.keys().next().value!;
            // A forgotten holder's units are given back with it.
            if (map === (this.held as Map<string, unknown>)) this.shared.held -= this.held.get(oldest) ?? 0;
            map.delete(oldest);
        }
    }
}
