import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { libraryDirs, loadConfig, packageDir, ROOT } from "../../scripts/circuits/config";

/**
 * Every warning `circom --inspect` gives, with why it is harmless. A new kind of warning fails
 * this test until it is fixed or explained here (the classic bug of this field is an
 * under-constrained signal, which --inspect reports as CA01/CA03/CA05-like warnings).
 */
const EXPLAINED: { pattern: RegExp; why: string }[] = [
    {
        pattern: /CA02\]: In template "(Spend\(\d+\)|Solvency\(\)|RegistryTerms\(\)|RegistryMembership\(\d+\))": Array of subcomponent input\/output signals Num2Bits_\d+_\d+\.out contains/,
        why: "a range check: Num2Bits is instantiated for its constraints (value < 2^n); its bits are not needed"
    },
    {
        pattern: /CA02\]: In template "LessThan\(\d+\)": Array of subcomponent input\/output signals n2b\.out/,
        why: "circomlib's comparator uses only the top bit of its Num2Bits"
    },
    {
        pattern: /CA02\]: In template "(EscalarMulFix|EscalarMulAny)\([^"]*\)": Array of subcomponent input\/output signals segments\[\d\]\.dbl/,
        why: "circomlib's scalar multiplication: the last segment's doubled base is not needed"
    },
    {
        pattern: /CA02\]: In template "CompConstant\(\d+\)": Array of subcomponent input\/output signals num2bits\.out/,
        why: "circomlib's CompConstant (EdDSA's S < l and Num2Bits_strict) reads the bits pairwise; the unused ones are constrained by Num2Bits"
    }
];

describe("Circuit inspection (circom --inspect)", function () {
    const config = loadConfig();
    for (const circuit of config.circuits) {
        it(`Should have only explained warnings for ${circuit.name}`, function () {
            const run = spawnSync(
                process.execPath,
                [
                    path.join(packageDir("circom2"), "cli.js"),
                    path.join(ROOT, circuit.instance),
                    "--inspect",
                    ...config.compilerFlags,
                    ...libraryDirs(config).flatMap((dir) => ["-l", dir]),
                    "-o",
                    mkdtempSync(path.join(os.tmpdir(), "zkapi-inspect-"))
                ],
                { encoding: "utf8" }
            );
            // circom prints its warnings on stderr.
            const output = `${run.stdout}\n${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, "");
            expect(run.status).to.equal(0);
            const warnings = output.split("\n").filter((line) => /^(warning|error)\[/.test(line));
            const unexplained = warnings.filter((warning) => !EXPLAINED.some((e) => e.pattern.test(warning)));
            expect(unexplained).to.deep.equal([]);
            // The circuits that verify EdDSA do get circomlib's warnings: proof that they are read here.
            if (circuit.name !== "slash") expect(warnings.length).to.be.greaterThan(0);
            expect(output).to.not.match(/^error\[/m);
        });
    }
});
