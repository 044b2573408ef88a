import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { TicketOwner } from "./account-record";

/** Owners (client instances) alive in this process. */
const live = new Set<string>();

/** A new owner for a client instance of this process. */
export function newTicketOwner(): TicketOwner {
    const owner: TicketOwner = { id: randomBytes(8).toString("hex"), pid: process.pid, host: hostname() };
    live.add(owner.id);
    return owner;
}

/** The instance is closed: its claimed tickets become free, its sent tickets are resolved by others. */
export function retireTicketOwner(owner: TicketOwner): void {
    live.delete(owner.id);
}

/**
 * True if the owner of a claimed or sent ticket may still be working on it: an instance of this
 * process that is not closed, or another process of this host that is running. An owner on
 * another host (the account file was copied) never completes anything in this file.
 */
export function isTicketOwnerAlive(owner: TicketOwner): boolean {
    if (live.has(owner.id)) return true;
    if (owner.host !== hostname() || owner.pid === process.pid) return false;
    try {
        process.kill(owner.pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}
