import { clientKey } from "./admission";

export interface UpstreamHeadStartsOptions {
    /** Head starts a client may hold at once, so may have in flight unchecked (default 4). */
    readonly maxPerClient?: number;
    /** Most clients remembered; the least recently credited is forgotten first (default 65,536). */
    readonly maxClients?: number;
}

/**
 * Which clients may have their upstream call started while their ticket is still being
 * checked (a head start), so that the model's first event is not delayed by the ticket's
 * checks (a proof verification, about 12 ms here, and the request signature).
 *
 * A head start is earned, one per ticket that passed every check and was recorded as new, by
 * the client (remote address, see {@link clientKey}) that sent it; a client holds at most
 * `maxPerClient`. Taking one spends it; a ticket started ahead that then passes its checks
 * and is recorded gives it back. Any other outcome (a failed check, a ticket already recorded,
 * a conflict) withdraws every head start the client holds, and the upstream call started for
 * it is cancelled. So a client that never sent a valid ticket never gets one (junk built from
 * public data costs the provider no upstream call), a replayed ticket gets at most one, and
 * the upstream calls started for tickets that were then refused never outnumber the valid
 * tickets their client paid for.
 *
 * O(1) per call; addresses are kept in memory only, never logged or stored.
 */
export class UpstreamHeadStarts {
    private readonly maxPerClient: number;
    private readonly maxClients: number;
    /** Head starts held, least recently credited first (Map order). */
    private readonly held = new Map<string, number>();
    private counters = { started: 0, cancelled: 0 };

    constructor(options: UpstreamHeadStartsOptions = {}) {
        this.maxPerClient = Math.max(1, Math.floor(options.maxPerClient ?? 4));
        this.maxClients = Math.max(1, Math.floor(options.maxClients ?? 65_536));
    }

    /** Spends one of `client`'s head starts; false if it holds none (its call waits for the checks). */
    take(client: string): boolean {
        const key = clientKey(client);
        const count = this.held.get(key) ?? 0;
        if (count < 1) return false;
        if (count === 1) this.held.delete(key);
        else this.held.set(key, count - 1);
        this.counters.started++;
        return true;
    }

    /** A head start taken but not used (the request was refused before its upstream call): given back. */
    unused(client: string): void {
        const key = clientKey(client);
        this.held.set(key, Math.min(this.maxPerClient, (this.held.get(key) ?? 0) + 1));
        this.counters.started--;
    }

    /** `client`'s ticket passed every check and was recorded as new: it earns a head start (and gets back the one it used). */
    earned(client: string, used: boolean): void {
        const key = clientKey(client);
        const count = Math.min(this.maxPerClient, (this.held.get(key) ?? 0) + 1 + (used ? 1 : 0));
        this.held.delete(key);
        this.held.set(key, count);
        while (this.held.size > this.maxClients) this.held.delete(this.held.keys().next().value!);
    }

    /** `client`'s ticket was refused or not new: every head start it holds is withdrawn. */
    withdrawn(client: string, used: boolean): void {
        this.held.delete(clientKey(client));
        if (used) this.counters.cancelled++;
    }

    /** Head starts held now (clients), taken so far, and taken then cancelled. */
    get stats(): { readonly clients: number; readonly started: number; readonly cancelled: number } {
        return { clients: this.held.size, ...this.counters };
    }
}
