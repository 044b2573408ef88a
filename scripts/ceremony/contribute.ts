/**
 * A participant's phase-2 contribution to one circuit's zkey, with fresh entropy from the
 * operating system's CSPRNG (snarkjs mixes in 64 more random bytes of its own). Run it on your
 * own machine; the entropy lives only in this process's memory and is gone when it exits.
 *
 *   npx ts-node --transpile-only scripts/ceremony/contribute.ts --in spend-32.0001.zkey --out spend-32.0002.zkey --name alice
 *
 * Prints the contribution hash: publish it, so that anyone can find your contribution in the
 * final manifest (and in `snarkjs zkey verify`'s output).
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { zKey } from "snarkjs";
import { progressLogger } from "../circuits/setup";
import { log, parseFlags, required, runMain } from "./cli";

runMain(async () => {
    const flags = parseFlags(process.argv.slice(2));
    const input = required(flags, "in");
    const output = required(flags, "out");
    const name = required(flags, "name");
    if (!existsSync(input)) throw new Error(`${input} not found`);
    if (existsSync(output)) throw new Error(`${output} exists: refusing to overwrite it`);
    const started = Date.now();
    const hash = await zKey.contribute(input, output, name, randomBytes(64).toString("hex"), progressLogger("", () => undefined));
    if (!(hash instanceof Uint8Array)) throw new Error(`the contribution to ${input} failed`);
    log(`${name}: contributed to ${input} in ${((Date.now() - started) / 1000).toFixed(1)} s -> ${output}`);
    console.log(`contribution-hash ${Buffer.from(hash).toString("hex")}`);
});
