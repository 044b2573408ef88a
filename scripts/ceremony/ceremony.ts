/**
 * The coordinator of a Groth16 phase-2 ceremony over the circuits of circuits/circuits.json
 * (docs/trusted-setup.md). Contributors run scripts/ceremony/contribute.ts on their machines.
 *
 *   ceremony.ts init     --dir D --ptau F.ptau (--ptau-sha256 H | --ptau-blake2b H) [--circuit NAME]... [--jobs N]
 *                        [--initial-zkey-cache C]
 *   ceremony.ts accept   --dir D --circuit NAME --zkey F.zkey [--name NAME] [--expect-hash H]
 *   ceremony.ts finalize --dir D --beacon HEX [--beacon-iterations-exp N] --out SET_DIR [--jobs N]
 *   ceremony.ts status   --dir D
 *   ceremony.ts verify-set --set SET_DIR --ptau F.ptau (--ptau-sha256 H | --ptau-blake2b H) [--circuit NAME]... [--jobs N]
 *
 * `init` checks the phase-1 file against its published hash and writes each circuit's initial
 * zkey (D/<circuit>/0000.zkey); contributors take the newest zkey of each circuit, contribute,
 * and hand back the result, which `accept` verifies (`zkey verify` against the r1cs and the
 * phase-1 file) before adding it to the chain; `finalize` applies the closing beacon, verifies
 * again and exports the artifact set (manifest marked as a ceremony, zkeys, wasm, verification
 * keys, Solidity verifiers) into SET_DIR. `verify-set` is what anyone runs on a published set:
 * the full `snarkjs zkey verify` of each zkey against the r1cs compiled at this commit and the
 * phase-1 file, and that the manifest, verification keys and verifiers are the zkeys'.
 * `--jobs` runs circuits in parallel processes; `--initial-zkey-cache` keeps each initial zkey
 * (a deterministic function of the r1cs and the phase-1 file, keyed by both SHA-256s) to skip
 * `zkey new` the next time.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { acceptContribution, ceremonyCircuits, checkPtau, finalizeCircuit, initCircuit, startCeremony, verifySetCircuit, writeSetManifest } from "./phase2";
import type { Beacon } from "./phase2";
import { inParallel, log, parseFlags, required, runMain, runScript, single } from "./cli";
import { readCeremony, readCircuit } from "./transcript";

const USAGE = `usage:
  ceremony.ts init     --dir D --ptau F.ptau (--ptau-sha256 H | --ptau-blake2b H) [--circuit NAME]... [--jobs N] [--initial-zkey-cache C]
  ceremony.ts accept   --dir D --circuit NAME --zkey F.zkey [--name NAME] [--expect-hash H]
  ceremony.ts finalize --dir D --beacon HEX [--beacon-iterations-exp N] --out SET_DIR [--jobs N]
  ceremony.ts status   --dir D
  ceremony.ts verify-set --set SET_DIR --ptau F.ptau (--ptau-sha256 H | --ptau-blake2b H) [--circuit NAME]... [--jobs N]`;

function jobs(flags: Map<string, string[]>): number {
    const value = Number(single(flags, "jobs") ?? 1);
    if (!Number.isInteger(value) || value < 1) throw new Error("--jobs takes a positive integer");
    return value;
}

function beacon(flags: Map<string, string[]>): Beacon {
    const hash = required(flags, "beacon").replace(/^0x/, "");
    const iterationsExp = Number(single(flags, "beacon-iterations-exp") ?? 10);
    if (!/^([0-9a-fA-F]{2}){1,255}$/.test(hash)) throw new Error("--beacon takes a hex string (e.g. a future block's hash)");
    if (!Number.isInteger(iterationsExp) || iterationsExp < 10 || iterationsExp > 63) throw new Error("--beacon-iterations-exp is between 10 and 63");
    return { hash: hash.toLowerCase(), iterationsExp };
}

async function main(): Promise<void> {
    const [command, ...rest] = process.argv.slice(2);
    const flags = parseFlags(rest);
    const folder = (): string => path.resolve(required(flags, "dir"));
    switch (command) {
        case "init": {
            const circuits = ceremonyCircuits(flags.get("circuit"));
            await startCeremony(
                folder(),
                { file: required(flags, "ptau"), sha256: single(flags, "ptau-sha256"), blake2b512: single(flags, "ptau-blake2b") },
                circuits,
                log
            );
            const cache = single(flags, "initial-zkey-cache");
            await inParallel(circuits, jobs(flags), async (circuit) => {
                if (jobs(flags) === 1) await initCircuit(folder(), circuit, log, cache);
                else await runScript(__filename, ["init-circuit", "--dir", folder(), "--circuit", circuit.name, ...(cache ? ["--initial-zkey-cache", cache] : [])]);
            });
            log(`ceremony started in ${folder()}: contributors take ${circuits.map((c) => `${c.name}/0000.zkey`).join(", ")}`);
            return;
        }
        case "init-circuit": {
            const [circuit] = ceremonyCircuits([required(flags, "circuit")]);
            await initCircuit(folder(), circuit!, log, single(flags, "initial-zkey-cache"));
            return;
        }
        case "accept": {
            await acceptContribution(folder(), required(flags, "circuit"), path.resolve(required(flags, "zkey")), { name: single(flags, "name"), expectHash: single(flags, "expect-hash") }, log);
            return;
        }
        case "finalize": {
            const closing = beacon(flags);
            const out = path.resolve(required(flags, "out"));
            if (existsSync(path.join(out, "manifest.json"))) throw new Error(`${out} already holds an artifact set`);
            mkdirSync(out, { recursive: true });
            const { circuits } = readCeremony(folder());
            await inParallel(circuits, jobs(flags), async (name) => {
                if (jobs(flags) === 1) await finalizeCircuit(folder(), name, closing, out, log);
                else await runScript(__filename, ["finalize-circuit", "--dir", folder(), "--circuit", name, "--beacon", closing.hash, "--beacon-iterations-exp", String(closing.iterationsExp), "--out", out]);
            });
            const manifest = writeSetManifest(folder(), out, closing);
            log(`artifact set written to ${out} (contributors: ${manifest.ceremony.contributors.join(", ")}; beacon ${closing.hash})`);
            return;
        }
        case "finalize-circuit": {
            await finalizeCircuit(folder(), required(flags, "circuit"), beacon(flags), path.resolve(required(flags, "out")), log);
            return;
        }
        case "verify-set": {
            const set = path.resolve(required(flags, "set"));
            const ptau = await checkPtau({ file: required(flags, "ptau"), sha256: single(flags, "ptau-sha256"), blake2b512: single(flags, "ptau-blake2b") });
            const manifest = JSON.parse(readFileSync(path.join(set, "manifest.json"), "utf8")) as { circuits: Record<string, unknown> };
            const names = flags.get("circuit") ?? Object.keys(manifest.circuits);
            await inParallel(names, jobs(flags), async (name) => {
                if (jobs(flags) === 1) await verifySetCircuit(set, name, ptau.file, log);
                else await runScript(__filename, ["verify-set", "--set", set, "--ptau", ptau.file, "--ptau-sha256", ptau.sha256, "--circuit", name]);
            });
            log(`${set}: ${names.join(", ")} verified against this commit's circuits and ${path.basename(ptau.file)}`);
            return;
        }
        case "status": {
            const ceremony = readCeremony(folder());
            console.log(`phase 1: ${ceremony.ptau.file} (2^${ceremony.ptau.power}, SHA-256 ${ceremony.ptau.sha256})`);
            for (const name of ceremony.circuits) {
                const record = readCircuit(folder(), name);
                const chain = record.zkeys.map((z) => (z.contribution ? `${z.file} ${z.contribution.name} ${z.contribution.hash.slice(0, 16)}…` : `${z.file} initial`));
                console.log(`${name}: ${chain.join(" -> ")}`);
            }
            return;
        }
        default:
            throw new Error(USAGE);
    }
}

runMain(main);
