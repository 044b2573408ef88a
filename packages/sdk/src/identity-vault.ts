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
