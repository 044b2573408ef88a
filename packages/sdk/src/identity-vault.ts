import { createCipheriv, createDecipheriv, randomBytes, scrypt } from "node:crypto";
import { promisify } from "node:util";
import { Identity } from "@zk-api-credits/protocol";
import { SdkError } from "./errors";

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;

/** An identity encrypted at rest: scrypt (N=2^17, r=8, p=1) derives an AES-256-GCM key. */
export interface EncryptedIdentity {
    readonly version: 1;
    readonly kdf: { readonly name: "scrypt"; readonly N: number; readonly r: number; readonly p: number; readonly salt: string };
    readonly cipher: { readonly name: "aes-256-gcm"; readonly iv: string; readonly tag: string };
    readonly ciphertext: string;
    /** Public, so a file can be matched to its registration without the passphrase. */
    readonly identityCommitment: string;
}

const SCRYPT = { N: 1 << 17, r: 8, p: 1 };

async function deriveKey(passphrase: string, salt: Buffer, kdf: { N: number; r: number; p: number }): Promise<Buffer> {
    return scryptAsync(passphrase, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r });
}

/** Encrypts the identity secret under a passphrase. */
export async function encryptIdentity(identity: Identity, passphrase: string, kdf = SCRYPT): Promise<EncryptedIdentity> {
    if (passphrase.length < 8) throw new RangeError("use a passphrase of at least 8 characters");
    const salt = randomBytes(32);
    const iv = randomBytes(12);
    const key = await deriveKey(passphrase, salt, kdf);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(`zk-api-credits/identity/v1/${identity.commitment}`));
    const ciphertext = Buffer.concat([cipher.update(Buffer.from(identity.exportSecret().slice(2), "hex")), cipher.final()]);
    return {
        version: 1,
        kdf: { name: "scrypt", ...kdf, salt: salt.toString("hex") },
        cipher: { name: "aes-256-gcm", iv: iv.toString("hex"), tag: cipher.getAuthTag().toString("hex") },
        ciphertext: ciphertext.toString("hex"),
        identityCommitment: identity.commitment.toString()
    };
}

/** Decrypts an identity; WRONG_PASSPHRASE if the passphrase (or the file) is wrong. */
export async function decryptIdentity(encrypted: EncryptedIdentity, passphrase: string): Promise<Identity> {
    if (encrypted.version !== 1 || encrypted.kdf.name !== "scrypt" || encrypted.cipher.name !== "aes-256-gcm") {
        throw new SdkError("WRONG_PASSPHRASE", "unsupported identity file format");
    }
    const key = await deriveKey(passphrase, Buffer.from(encrypted.kdf.salt, "hex"), encrypted.kdf);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(encrypted.cipher.iv, "hex"));
    decipher.setAAD(Buffer.from(`zk-api-credits/identity/v1/${encrypted.identityCommitment}`));
    decipher.setAuthTag(Buffer.from(encrypted.cipher.tag, "hex"));
    let secret: Buffer;
    try {
        secret = Buffer.concat([decipher.update(Buffer.from(encrypted.ciphertext, "hex")), decipher.final()]);
    } catch {
        throw new SdkError("WRONG_PASSPHRASE", "the passphrase does not open this identity");
    }
    const identity = Identity.importSecret(`0x${secret.toString("hex")}`);
    if (identity.commitment.toString() !== encrypted.identityCommitment) {
        throw new SdkError("WRONG_PASSPHRASE", "the identity file is corrupt");
    }
    return identity;
}

/**
 * What is safe to copy, and why (protocol v2):
 *
 * - The identity (the secret k) is the account. Whoever holds it can spend the deposit's
 *   credits and withdraw it. Export it only encrypted (`exportIdentity`), keep the passphrase
 *   apart from the file.
 * - Every per-ticket value (request key epk_i, x_i, blinding ρ_i, base blinding r_f) is derived
 *   from k. Two copies of the identity that use the same ticket index show the same RLN share,
 *   so reusing an index never reveals k and is never slashed: the gateway answers
 *   TICKET_ALREADY_USED and the client adopts the stored charge.
 * - Before this account file first uses an index it looks it up at the gateway (signed by the
 *   index's own key; an unused nullifier tells the gateway nothing). So an old copy of the
 *   account file (a backup, a second laptop) catches up: it adopts what the newer copy spent
 *   instead of double-spending, and its balance follows.
 * - Two processes on one account file (the proxy and a chat) share it under a lock: each change
 *   is a locked read-modify-write, so they never take the same index for two requests.
 * - The account file holds no secret (charges, bases, proofs, the requests in flight); it is
 *   private all the same (mode 0600): it says what you asked and what you paid.
 * - Withdraw from one copy only, after it has caught up: the withdrawal looks up every slot of
 *   its final window first, and declares (pays maxCost for) any ticket it cannot resolve.
 */
export const IDENTITY_SAFETY_NOTES = `The identity file holds your secret, encrypted with your passphrase: anyone with both can spend and withdraw the deposit. Keep the passphrase apart from the file.
Copying is safe: every ticket key is derived from the secret, so two copies that reuse a ticket index repeat the same share (never slashed), and a copy looks every index up at the gateway before its first use, so an old copy of the account catches up instead of double-spending.
The account file holds no secret but says what you asked and paid: keep it private (it is written with mode 0600).
Withdraw from one copy only.`;

/** The identity as a file's text: encrypted under `passphrase` (see IDENTITY_SAFETY_NOTES). */
export async function exportIdentity(identity: Identity, passphrase: string): Promise<string> {
    return `${JSON.stringify(await encryptIdentity(identity, passphrase), null, 2)}\n`;
}

/** Reads an identity file's text written by {@link exportIdentity}; WRONG_PASSPHRASE if it does not open. */
export async function importIdentity(text: string, passphrase: string): Promise<Identity> {
    let parsed: EncryptedIdentity;
    try {
        parsed = JSON.parse(text) as EncryptedIdentity;
    } catch {
        throw new SdkError("WRONG_PASSPHRASE", "the identity file is not JSON");
    }
    return decryptIdentity(parsed, passphrase);
}
