import { isIPv4, isIPv6 } from "node:net";
import type { ProofAdmission } from "./paid-request";

export interface ClientAdmissionOptions {
    /** Failed checks a client may accumulate before it is refused (default 8). */
    readonly burst?: number;
    /** Failures forgiven per second (default 0.2: one every 5 s). */
    readonly refillPerSecond?: number;
    /** Most clients remembered; the least recently seen is forgotten first (default 65,536). */
    readonly maxClients?: number;
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
 * Admission control of proof verification (a {@link ProofAdmission}): every client (remote
 * address, see {@link clientKey}) has a budget of `burst` failed checks, refilled at
 * `refillPerSecond`. A failure (an invalid proof or request signature) spends one; a client
 * with less than one left is refused (429 RATE_LIMITED) before its proof costs a pairing, so a
 * flood of junk tickets from one source costs the gateway almost nothing once the budget is
 * spent, and never crowds out the proofs of others. A client with a failure not yet forgiven
 * is `suspect`: it pays one unit of budget when it is admitted, not when its check fails, so
 * however many requests it has in flight at once, no more of them are checked than its budget
 * allows; and the gateway verifies its proofs on their own, never combined with others', so
 * even its budgeted junk cannot spoil an honest batch. Honest clients never fail a check, so
 * they are never tracked and never notice.
 *
 * O(1) per call; at most `maxClients` clients are remembered (a client forgotten starts
 * again with a full budget, as an unknown client does), and a client whose budget is full is
 * not remembered at all. Addresses are kept in memory only, never logged or stored.
 */
export class ClientAdmission implements ProofAdmission {
    private readonly burst: number;
    private readonly refillPerMs: number;
    private readonly maxClients: number;
    private readonly now: () => number;
    /** Clients with spent budget, least recently seen first (Map order). */
    private readonly buckets = new Map<string, Bucket>();
    private refusals = 0;

    constructor(options: ClientAdmissionOptions = {}) {
        this.burst = Math.max(1, options.burst ?? 8);
        this.refillPerMs = Math.max(0, options.refillPerSecond ?? 0.2) / 1000;
        this.maxClients = Math.max(1, Math.floor(options.maxClients ?? 65_536));
        this.now = options.now ?? Date.now;
    }

    /** True if `client` may have a proof verified now (a suspect client pays for it now). */
    admit(client: string): boolean {
        const bucket = this.current(clientKey(client));
        if (bucket === undefined) return true;
        if (bucket.tokens < 1) {
            this.refusals++;
            return false;
        }
        bucket.tokens -= 1;
        bucket.prepaid++;
        return true;
    }

    /** `client` sent a proof (or a request signature) that failed its check: one failure spent (unless paid when admitted). */
    failed(client: string): void {
        const key = clientKey(client);
        const bucket = this.current(key) ?? { tokens: this.burst, at: this.now(), prepaid: 0 };
        if (bucket.prepaid > 0) bucket.prepaid--;
        else bucket.tokens = Math.max(0, bucket.tokens - 1);
        this.buckets.delete(key);
        this.buckets.set(key, bucket);
        while (this.buckets.size > this.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
    }

    /** True if `client` has a failure not yet forgiven: verify its proofs on their own. */
    suspect(client: string): boolean {
        return this.current(clientKey(client)) !== undefined;
    }

    /** Clients remembered (with a spent budget) and proofs refused so far. */
    get stats(): { readonly clients: number; readonly refusals: number } {
        return { clients: this.buckets.size, refusals: this.refusals };
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
}
