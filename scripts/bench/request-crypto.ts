/**
 * Where a paid request's CPU goes on the gateway, besides its Spend proof (verification.ts
 * measures that): the ticket binding x = Poseidon(epk), the request hash, the request
 * signature check (EdDSA-Poseidon, a one-time key) and the charge (Δ = T + amounts·G, then
 * its EdDSA-Poseidon signature). For comparison it also times an Ed25519 signature check by
 * Node's built-in crypto (OpenSSL), the candidate for the request key (see the README's
 * performance section). One thread, best of BENCH_REPEATS (5) runs of BENCH_OPS (200) calls each.
 *
 *   npx ts-node --transpile-only scripts/bench/request-crypto.ts
 */
import { createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import {
    chargePoint,
    commitTicket,
    EdDSAPoseidonSigner,
    ephemeralKeyBinding,
    requestHash,
    verifySignature
} from "@zk-api-credits/protocol";
import { envInt, fmtMs, machineInfo, machineMarkdown, markdownTable, textTable, writeReport } from "./common";

const OPS = envInt("BENCH_OPS", 200);
const REPEATS = envInt("BENCH_REPEATS", 5);

/** The best mean time of `fn` over REPEATS runs of OPS calls (ms per call). */
function measure(fn: (i: number) => unknown): number {
    for (let i = 0; i < 20; i++) fn(i);
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < REPEATS; r++) {
        const started = process.hrtime.bigint();
        for (let i = 0; i < OPS; i++) fn(i);
        best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6 / OPS);
    }
    return best;
}

function main(): void {
    const machine = machineInfo();
    const provider = new EdDSAPoseidonSigner("zk-api-credits request-crypto benchmark provider");
    const requestKey = new EdDSAPoseidonSigner("zk-api-credits request-crypto benchmark request key");
    const body = Buffer.from(JSON.stringify({ model: "m", messages: [{ role: "user", content: "benchmark ".repeat(50) }] }));
    const hash = requestHash("POST", "/v1/chat/completions", body);
    const signature = requestKey.signMessage(hash);
    const ticket = commitTicket(7n, 11n, 13n);
    const context = 17n;
    const ed25519 = generateKeyPairSync("ed25519");
    const rawKey = Buffer.from(ed25519.publicKey.export({ format: "jwk" }).x!, "base64url");
    const message = Buffer.alloc(32, 7);
    const edSignature = sign(null, message, ed25519.privateKey);

    const rows: { step: string; ms: number }[] = [
        { step: "ticket binding x = Poseidon(epk)", ms: measure(() => ephemeralKeyBinding(requestKey.publicKey)) },
        { step: "request hash (keccak of a 550-byte body)", ms: measure(() => requestHash("POST", "/v1/chat/completions", body)) },
        { step: "request signature check (EdDSA-Poseidon, one-time key)", ms: measure(() => verifySignature(hash, signature, requestKey.publicKey)) },
        { step: "charge Δ and its signature (EdDSA-Poseidon)", ms: measure((i) => provider.signCharge(context, chargePoint(ticket, 1_000n + BigInt(i), 0n))) },
        {
            step: "for comparison: Ed25519 check, Node crypto (key imported each time)",
            ms: measure(() => verify(null, message, createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: rawKey.toString("base64url") }, format: "jwk" }), edSignature))
        }
    ];
    if (!verifySignature(hash, signature, requestKey.publicKey)) throw new Error("the request signature does not verify");
    const headers = ["step", "ms per call"];
    const table = rows.map((r) => [r.step, fmtMs(r.ms)]);
    console.log(`[request-crypto] ${machineMarkdown(machine)}\n\n${textTable(headers, table)}`);
    const markdown = [
        "## Request crypto (gateway CPU per paid request, besides the proof)",
        "",
        machineMarkdown(machine),
        "",
        `One thread, best of ${REPEATS} runs of ${OPS} calls.`,
        "",
        markdownTable(headers, table)
    ].join("\n");
    const written = writeReport("request-crypto", { machine, ops: OPS, repeats: REPEATS, results: rows }, markdown);
    console.log(`\nwrote ${written.json} and ${written.md}`);
}

main();
