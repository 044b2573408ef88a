import type { SyncCache, SyncSnapshot, TreeEvent } from "@zk-api-credits/protocol";
import { readFileIfExists, writeFileDurably } from "./durable-file";

type StoredEvent =
    | { kind: "registered"; block: number; identityCommitment: string; leafIndex: number; amount: string }
    | { kind: "departed"; block: number; identityCommitment: string };

/**
 * The registry sync's progress in a file (events, checkpoint, synced block), so a restart
 * resumes instead of re-reading every event. RegistrySync checks the events against their
 * checkpoint on load and ignores a corrupt file.
 */
export class FileSyncCache implements SyncCache {
    constructor(readonly file: string) {}

    async load(): Promise<SyncSnapshot | undefined> {
        const text = readFileIfExists(this.file);
        if (text === undefined) return undefined;
        try {
            const raw = JSON.parse(text) as { version: number; events: StoredEvent[]; checkpoint: string; syncedBlock: number };
            if (raw.version !== 2 || !Array.isArray(raw.events)) return undefined;
            const events: TreeEvent[] = raw.events.map((e) =>
                e.kind === "registered"
                    ? { kind: "registered", block: e.block, identityCommitment: BigInt(e.identityCommitment), leafIndex: e.leafIndex, amount: BigInt(e.amount) }
                    : { kind: "departed", block: e.block, identityCommitment: BigInt(e.identityCommitment) }
            );
            return { events, checkpoint: raw.checkpoint, syncedBlock: raw.syncedBlock };
        } catch {
            return undefined; // unreadable: sync from scratch
        }
    }

    async save(snapshot: SyncSnapshot): Promise<void> {
        const events: StoredEvent[] = snapshot.events.map((e) =>
            e.kind === "registered"
                ? { kind: "registered", block: e.block, identityCommitment: e.identityCommitment.toString(), leafIndex: e.leafIndex, amount: e.amount.toString() }
                : { kind: "departed", block: e.block, identityCommitment: e.identityCommitment.toString() }
        );
        writeFileDurably(this.file, JSON.stringify({ version: 2, events, checkpoint: snapshot.checkpoint, syncedBlock: snapshot.syncedBlock }));
    }
}
