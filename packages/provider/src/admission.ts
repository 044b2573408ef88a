import { isIPv4, isIPv6 } from "node:net";
import type { AdmissionRefusal, AdmittedCheck, CheckKind, ProofAdmission } from "./paid-request";

export interface ClientAdmissionOptions {
    /** Failed checks a client may accumulate before it is refused (default 8). */
    readonly burst?: number;
    /** Failures forgiven per second (default 0.2: one every 5 s). */
    readonly refillPerSecond?: number;
    /** Most clients remembered; the least recently seen is forgotten first (default 65,536). */
    readonly maxClients?: number;
    /** Most checks one client may have in flight at once (default 64). */
    readonly maxInFlight?: number;
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
    /** Failures the client may still have before it is refused (less the units its checks in flight hold). */
    tokens: number;
    /** When `tokens` was last brought up to date (ms). */
    at: number;
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
 * combined with others', so even its budgeted junk cannot spoil an honest batch. Any client
 * has at most `maxInFlight` checks in flight (429 beyond).
 *
 * A flood from more addresses than those budgets can cover (each address fails `burst` times,
 * then the next) is met by the second layer. A client is known for `knownForMs` after a proof
 * of its recorded something new (a ticket or a fold), until a proof of its fails. Every proof
 * check of a client not known holds a unit of one budget that all such clients share
 * (`newClients`: `burst` units, spent units forgiven at `refillPerSecond`) from the moment its
 * pairing is due (AdmittedCheck.holdForProof, after the cheap checks) until the check ends:
 * given back if it passes or never runs, spent if it fails. With no unit free, the check is
 * refused (503 NEW_CLIENTS_THROTTLED, retry shortly). So at most `newClients.burst` proof
 * checks of new clients run at once, and junk from new addresses costs at most
 * `newClients.burst` failed checks, then `newClients.refillPerSecond` per second. While units
 * are spent by failures (not merely held), a new client's proof is checked on its own, so that
 * junk never shrinks or spoils the batches of known clients' proofs. Look-ups (a request
 * signature, no pairing) are held to the per-client budget only.
 *
 * Each admitted check is a handle that ends in exactly one of failed() or released(), and
 * gives back or spends exactly what it took. O(1) per call; at most `maxClients` clients are
 * remembered in each map (a client forgotten starts again with a full budget, or as not
 * known). Addresses are kept in memory only, never logged or stored, and each gateway process
 * (each replica) keeps its own.
 */
export class ClientAdmission implements ProofAdmission {
    private readonly burst: number;
    private readonly refillPerMs: number;
    private readonly maxClients: number;
    private readonly maxInFlight: number;
    private readonly newBurst: number;
    private readonly newRefillPerMs: number;
    private readonly knownForMs: number;
    private readonly now: () => number;
    /** Clients with spent budget, least recently seen first (Map order). */
    private readonly buckets = new Map<string, Bucket>();
    /** Clients known (a proof of theirs recorded something new), with when it last did, least recent first. */
    private readonly known = new Map<string, number>();
    /** Checks in flight per client (only clients with some). */
    private readonly inFlight = new Map<string, number>();
    /** The budget new clients share: units free, and units held by checks in flight. */
    private readonly shared: { tokens: number; at: number; held: number };
    private refusals = 0;
    private throttled = 0;

    constructor(options: ClientAdmissionOptions = {}) {
        this.burst = Math.max(1, options.burst ?? 8);
        this.refillPerMs = Math.max(0, options.refillPerSecond ?? 0.2) / 1000;
        this.maxClients = Math.max(1, Math.floor(options.maxClients ?? 65_536));
        this.maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 64));
        this.newBurst = Math.max(1, Math.floor(options.newClients?.burst ?? 64));
        this.newRefillPerMs = Math.max(0, options.newClients?.refillPerSecond ?? 16) / 1000;
        this.knownForMs = Math.max(0, options.knownForMs ?? 10 * 60_000);
        this.now = options.now ?? Date.now;
        this.shared = { tokens: this.newBurst, at: this.now(), held: 0 };
    }

    /** Admits a check of `client`'s (a suspect pays a unit of its budget now), or refuses it. */
    admit(client: string, kind: CheckKind = "proof"): AdmittedCheck | AdmissionRefusal {
        const key = clientKey(client);
        const bucket = this.current(key);
        const inFlight = this.inFlight.get(key) ?? 0;
        if ((bucket !== undefined && bucket.tokens < 1) || inFlight >= this.maxInFlight) {
            this.refusals++;
            return "rate-limited";
        }
        // A new client's proof with no unit free is refused now, before any of its checks (its unit is taken when its pairing is due).
        if (kind === "proof" && !this.isKnown(key)) {
            this.refreshShared();
            if (this.shared.tokens < 1) {
                this.throttled++;
                return "new-clients-throttled";
            }
        }
        this.remember(this.inFlight, key, inFlight + 1);
        if (bucket !== undefined) bucket.tokens -= 1;
        let prepaid = bucket !== undefined;
        let heldShared = false;
        let settled = false;
        const settle = (): boolean => {
            if (settled) return false;
            settled = true;
            const count = this.inFlight.get(key) ?? 0;
            if (count <= 1) this.inFlight.delete(key);
            else this.inFlight.set(key, count - 1);
            this.refreshShared();
            return true;
        };
        return {
            holdForProof: (): { readonly alone: boolean } | AdmissionRefusal => {
                if (settled || heldShared || this.isKnown(key)) return { alone: this.suspect(client) };
                this.refreshShared();
                if (this.shared.tokens < 1) {
                    this.throttled++;
                    return "new-clients-throttled";
                }
                const alone = this.suspect(client);
                this.shared.tokens -= 1;
                this.shared.held += 1;
                heldShared = true;
                return { alone };
            },
            failed: (): void => {
                if (!settle()) return;
                if (heldShared) this.shared.held -= 1; // its unit is spent
                const own = this.current(key) ?? { tokens: this.burst, at: this.now() };
                // A unit prepaid from a bucket since forgotten (refilled while the check was in flight) is not this one's.
                if (!prepaid || own !== bucket) own.tokens = Math.max(0, own.tokens - 1);
                prepaid = false;
                this.buckets.delete(key);
                this.remember(this.buckets, key, own);
                if (kind !== "proof") return;
                const wasKnown = this.isKnown(key);
                this.known.delete(key);
                // A new client's failure that held no unit (it failed before its pairing) spends one.
                if (!heldShared && !wasKnown) this.shared.tokens = Math.max(0, this.shared.tokens - 1);
            },
            released: (): void => {
                if (!settle()) return;
                if (heldShared) {
                    this.shared.held -= 1;
                    this.shared.tokens = Math.min(this.newBurst - this.shared.held, this.shared.tokens + 1);
                }
                if (prepaid) {
                    const own = this.current(key);
                    if (own !== undefined && own === bucket) own.tokens = Math.min(this.burst, own.tokens + 1);
                    prepaid = false;
                }
            }
        };
    }

    /** A proof of `client`'s recorded something new (a ticket, a fold): it is known from now on (for knownForMs). */
    recorded(client: string): void {
        const key = clientKey(client);
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

    /** Sets `key` as the most recently seen entry of `map`, forgetting the least recent beyond maxClients. */
    private remember<T>(map: Map<string, T>, key: string, value: T): void {
        map.delete(key);
        map.set(key, value);
        while (map.size > this.maxClients) map.delete(map.keys().next().value!);
    }
}
