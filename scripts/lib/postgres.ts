import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { freePort } from "./local-node";

/** A PostgreSQL server for tests and benchmarks. */
export interface LocalPostgres {
    readonly url: string;
    /** The directory of the server's Unix-domain socket (a private instance's; undefined for ZKAPI_TEST_POSTGRES_URL's). */
    readonly socketDir?: string;
    /** A fresh, empty database on this server. */
    createDatabase(name: string): Promise<string>;
    stop(): Promise<void>;
}

/** The server binaries of Debian's postgresql package (/usr/lib/postgresql/<version>/bin). */
function findBinaries(): string | undefined {
    const root = "/usr/lib/postgresql";
    if (!existsSync(root)) return undefined;
    const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, "bin", "postgres"))).sort((a, b) => Number(b) - Number(a));
    return versions[0] === undefined ? undefined : path.join(root, versions[0], "bin");
}

async function waitForServer(url: string, child: ChildProcess, output: () => string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${output()}`);
        const client = new Client({ connectionString: url });
        try {
            await client.connect();
            await client.end();
            return;
        } catch {
            await client.end().catch(() => undefined);
        }
        if (Date.now() > deadline) throw new Error(`postgres did not start: ${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

/**
 * A real PostgreSQL server over TCP: the one in ZKAPI_TEST_POSTGRES_URL if set, otherwise a
 * private instance started from Debian's postgresql binaries in a temporary directory on a
 * free port (as the `postgres` system user when run as root, since the server refuses root).
 */
export async function startPostgres(): Promise<LocalPostgres> {
    const given = process.env.ZKAPI_TEST_POSTGRES_URL;
    if (given) {
        return { url: given, createDatabase: (name) => createDatabase(given, name), stop: async () => undefined };
    }
    const bin = findBinaries();
    if (bin === undefined) {
        throw new Error("no PostgreSQL server: install Debian's postgresql package (apt-get install postgresql) or set ZKAPI_TEST_POSTGRES_URL");
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-pg-"));
    const asRoot = process.getuid?.() === 0;
    let uid: number | undefined;
    let gid: number | undefined;
    if (asRoot) {
        uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
        gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
        chownSync(dir, uid, gid);
    }
    const data = path.join(dir, "data");
    execFileSync(path.join(bin, "initdb"), ["-D", data, "-U", "zkapi", "--auth=trust", "-E", "UTF8", "--no-sync"], { uid, gid, stdio: "ignore" });
    const port = await freePort();
    const child = spawn(
        path.join(bin, "postgres"),
        ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "max_connections=200"],
        { uid, gid, stdio: ["ignore", "pipe", "pipe"] }
    );
    let output = "";
    child.stderr!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    const url = `postgres://zkapi@127.0.0.1:${port}/postgres`;
    await waitForServer(url, child, () => output);
    return {
        url,
        socketDir: dir,
        createDatabase: (name) => createDatabase(url, name),
        stop: async () => {
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGINT");
            await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
            rmSync(dir, { recursive: true, force: true });
        }
    };
}

/**
 * `url` (a database of a private server) reached through the server's Unix-domain socket in
 * `socketDir` rather than TCP: how a gateway talks to a PostgreSQL on its own machine.
 */
export function overUnixSocket(url: string, socketDir: string): string {
    const socketUrl = new URL(url);
    socketUrl.searchParams.set("host", socketDir);
    return socketUrl.toString();
}

async function createDatabase(serverUrl: string, name: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    try {
        await client.query(`DROP DATABASE IF EXISTS ${name}`);
        await client.query(`CREATE DATABASE ${name}`);
    } finally {
        await client.end();
    }
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return url.toString();
}
