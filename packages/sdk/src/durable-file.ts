import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";

/**
 * Replaces `file` atomically and durably: write a temporary file, fsync it, rename it over
 * the old one, fsync the directory. After a crash the file is either the old or the new
 * version, never a mix. The file is created with mode 0600 (the account and identity files are private).
 */
export function writeFileDurably(file: string, text: string): void {
    const dir = path.dirname(file);
    mkdirSync(dir, { recursive: true });
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    const fd = openSync(temporary, "w", 0o600);
    try {
        writeSync(fd, text);
        fsyncSync(fd);
    } finally {
        closeSync(fd);
    }
    renameSync(temporary, file);
    const dirFd = openSync(dir, "r");
    try {
        fsyncSync(dirFd);
    } finally {
        closeSync(dirFd);
    }
}

export function readFileIfExists(file: string): string | undefined {
    return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}
