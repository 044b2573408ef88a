/**
 * Where a paid request's CPU goes on the gateway, besides its Spend proof (verification.ts
 * measures that): the ticket binding x = Poseidon(hi, lo) of the request key, the request hash,
 * the request signature check (Ed25519 by Node's crypto, after the key's safety check) and the
 * charge (Δ = T + amounts·G, then its EdDSA-Poseidon signature). For comparison it also times
 * the Baby Jubjub EdDSA-Poseidon check of a one-time key, which request keys used before
 * (docs/protocol.md, "Request keys"). The Poseidon steps are timed with poseidon-lite, then
 * with the WebAssembly Poseidon the gateway installs (useWasmPoseidon). One thread, best of
 * BENCH_REPEATS (5) runs of BENCH_OPS (200) calls each.
 *
 *   npx ts-node --transpile-only scripts/bench/request-crypto.ts
 */
import {
    chargePoint,
    commitTicket,
    EdDSAPoseidonSigner,
    ephemeralKeyBinding,
    isSafeRequestKey,
    poseidonBackend,
    RequestKey,
    requestHash,
    verifySignature
} from "@zk-api-credits/protocol";
import { requestSignatureValid, useWasmPoseidon } from "@zk-api-credits/provider";
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

async function main(): Promise<void> {
    const machine = machineInfo();
    const provider = new EdDSAPoseidonSigner("zk-api-credits request-crypto benchmark provider");
    const requestKey = new RequestKey(Buffer.alloc(32, 5));
    const body = Buffer.from(JSON.stringify({ model: "m", messages: [{ role: "user", content: "benchmark ".repeat(50) }] }));
    const hash = requestHash("POST", "/v1/chat/completions", body);
    const signature = requestKey.signMessage(hash);
    const ticket = commitTicket(7n, 11n, 13n);
    const context = 17n;
    const babyJubjubKey = new EdDSAPoseidonSigner("zk-api-credits request-crypto benchmark request key");
    const babyJubjubSignature = babyJubjubKey.signMessage(hash);

    const rows: { step: string; ms: number }[] = [
        { step: `ticket binding x = Poseidon(hi, lo) of epk (${poseidonBackend().name})`, ms: measure(() => ephemeralKeyBinding(requestKey.publicKey)) },
        { step: "request hash (keccak of a 550-byte body)", ms: measure(() => requestHash("POST", "/v1/chat/completions", body)) },
        { step: "request signature check (Ed25519, Node crypto, key checked first)", ms: measure(() => requestSignatureValid(hash, signature, requestKey.publicKey)) },
        { step: "  of which the key's check (canonical, not small order)", ms: measure(() => isSafeRequestKey(requestKey.publicKey)) },
        { step: `charge Δ and its signature (EdDSA-Poseidon, ${poseidonBackend().name})`, ms: measure((i) => provider.signCharge(context, chargePoint(ticket, 1_000n + BigInt(i), 0n))) },
        { step: "for comparison: the EdDSA-Poseidon check of a one-time key (request keys before)", ms: measure(() => verifySignature(hash, babyJubjubSignature, babyJubjubKey.publicKey)) }
    ];
    await useWasmPoseidon();
    rows.push(
        { step: `ticket binding x = Poseidon(hi, lo) of epk (${poseidonBackend().name})`, ms: measure(() => ephemeralKeyBinding(requestKey.publicKey)) },
        { step: `charge Δ and its signature (EdDSA-Poseidon, ${poseidonBackend().name})`, ms: measure((i) => provider.signCharge(context, chargePoint(ticket, 1_000n + BigInt(i), 0n))) }
    );
    if (!requestSignatureValid(hash, signature, requestKey.publicKey)) throw new Error("the request signature does not verify");
    if (!verifySignature(hash, babyJubjubSignature, babyJubjubKey.publicKey)) throw new Error("the EdDSA-Poseidon signature does not verify");
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

void main();
