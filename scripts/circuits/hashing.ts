import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";

export function sha256(data: string | Uint8Array): string {
    return createHash("sha256").update(data).digest("hex");
}

/** SHA-256 of a file, streamed (zkeys and ptau files are large). */
export async function sha256File(file: string): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest("hex");
}

export function sha256FileSync(file: string): string {
    return sha256(readFileSync(file));
}
