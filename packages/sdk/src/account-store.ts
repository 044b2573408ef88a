import type { AccountState, Point, StateSignature } from "@zk-api-credits/protocol";
import { readFileIfExists, writeFileDurably } from "./durable-file";

/** A request exactly as it was (or will be) sent, so that a retry sends the same bytes. */
export interface StoredRequest {
    readonly method: string;
    /** Path with query, as bound into x. */
    readonly path: string;
    readonly headers: Readonly<Record<string, string>>;
    /** base64 of the body. */
    readonly body: string;
}

/**
 * A ticket written down before its request leaves the client. Until it is resolved (a
 * receipt for it arrives), the client never uses its seq for anything but this request.
 */
export interface InFlightTicket {
    readonly seq: bigint;
    readonly nullifier: bigint;
    readonly rerandomiser: bigint;
    readonly rerandomisedState: Point<bigint>;
    /** The ticket header value, reused verbatim on retry. */
    readonly ticketHeader: string;
    readonly request: StoredRequest;
    readonly createdAt: number;
}

/** A ticket proved in advance with the ephemeral-key binding (x = Poseidon(epk)). */
export interface PreparedTicket {
    readonly seq: bigint;
    readonly nullifier: bigint;
    readonly rerandomiser: bigint;
    readonly rerandomisedState: Point<bigint>;
    readonly root: bigint;
    readonly y: bigint;
    readonly x: bigint;
    readonly proof: readonly bigint[];
    /** The one-time EdDSA key (hex) whose public key hashes to x. */
    readonly ephemeralPrivateKey: string;
    readonly ephemeralKey: Point<bigint>;
}

export interface WithdrawalRecord {
    readonly nullifier: bigint;
    readonly recipient: string;
    readonly spent: bigint;
    readonly burned: bigint;
    readonly transactionHash: string;
    readonly finalizableAt: bigint;
    readonly finalized: boolean;
}

/** Everything a client keeps about its account with one registry. */
export interface AccountRecord {
    readonly chainId: bigint;
    readonly registry: string;
    readonly identityCommitment: bigint;
    readonly deposit: bigint;
    readonly leafIndex: number;
    /** The latest state the provider signed (or genesis), with its opening. */
    readonly state: AccountState;
    readonly blinding: bigint;
    readonly signature?: StateSignature;
    readonly inFlight?: InFlightTicket;
    readonly prepared?: PreparedTicket;
    readonly withdrawal?: WithdrawalRecord;
}

/** Where a client keeps its account; `save` must be durable when it returns. */
export interface AccountStore {
    load(): Promise<AccountRecord | undefined>;
    save(record: AccountRecord): Promise<void>;
}

const BIGINT_TAG = "bigint:";

function encode(record: AccountRecord): string {
    return `${JSON.stringify({ version: 1, record }, (_, value: unknown) => (typeof value === "bigint" ? `${BIGINT_TAG}${value.toString()}` : value), 2)}\n`;
}

function decode(text: string): AccountRecord {
    const parsed = JSON.parse(text, (_, value: unknown) =>
        typeof value === "string" && value.startsWith(BIGINT_TAG) ? BigInt(value.slice(BIGINT_TAG.length)) : value
    ) as { version: number; record: AccountRecord };
    if (parsed.version !== 1) throw new Error(`unsupported account file version ${parsed.version}`);
    return parsed.record;
}

/** The account in a JSON file (mode 0600), replaced atomically and fsynced on every save. */
export class FileAccountStore implements AccountStore {
    constructor(readonly file: string) {}

    async load(): Promise<AccountRecord | undefined> {
        const text = readFileIfExists(this.file);
        return text === undefined ? undefined : decode(text);
    }

    async save(record: AccountRecord): Promise<void> {
        writeFileDurably(this.file, encode(record));
    }
}

/** The account in memory (tests, short-lived scripts). */
export class MemoryAccountStore implements AccountStore {
    private text?: string;

    async load(): Promise<AccountRecord | undefined> {
        return this.text === undefined ? undefined : decode(this.text);
    }

    async save(record: AccountRecord): Promise<void> {
        this.text = encode(record);
    }
}
