import { existsSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import * as deploykit from "../index.ts";
import { createPrivateFile, fsyncPath, giveToDirOwner } from "./backup.ts";

/** The lock file's name inside the data directory. */
export const LOCK_FILE = "deploykitd.lock";

/**
 * Creates the data directory (0700, parents as needed) when it is missing, durably: a new
 * directory's entry is only on disk once its parent is fsynced, and without that a power cut right
 * after the first start could take the directory, database and key with it (F02).
 */
export function ensureDataDir(dir: string): void {
  const target = resolve(dir);
  const first = mkdirSync(target, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  // mkdir -p made `first` and every directory below it down to `target`: fsync each one's parent.
  for (let d = target; ; d = dirname(d)) {
    fsyncPath(dirname(d));
    if (d === resolve(first)) break;
  }
}

/** Who holds (or last held) a data directory. */
export interface LockOwner {
  pid: number;
  /** What holds it: "daemon", "restore". */
  command: string;
  started_at: string;
  hostname: string;
}

/**
 * One process per data directory. The lock file is a tiny SQLite database; its holder keeps a write
 * transaction open (a RESERVED lock: others may still read who holds it, nobody else may write). The
 * lock is the kernel's (POSIX record locks, through SQLite), so it disappears with its process: a
 * SIGKILLed daemon leaves no stale lock behind, only its owner row, which the next holder reports
 * and replaces.
 *
 * The lock lives as long as the connection, so nothing in the holding process may open the file by
 * other means (closing any descriptor of a file drops the process's POSIX locks on it).
 */
export class DataDirLock {
  readonly path: string;
  /** The owner row found on acquiring: a previous holder that died without releasing (null after a clean stop). */
  readonly stale: LockOwner | null;
  #conn: Database.Database | null;

  private constructor(path: string, conn: Database.Database, stale: LockOwner | null) {
    this.path = path;
    this.#conn = conn;
    this.stale = stale;
  }

  /**
   * Takes the data directory's lock for `command`. Throws ECONFLICT naming the holder when another
   * process has it.
   */
  static acquire(dataDir: string, command: string): DataDirLock {
    if (!existsSync(dataDir)) throw deploykit.errorf(deploykit.ENOTFOUND, `The data directory ${dataDir} does not exist.`);
    const path = join(dataDir, LOCK_FILE);
    try {
      createPrivateFile(path);
      giveToDirOwner(path, dataDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    // timeout 0: a held lock is an answer, not something to wait for.
    const conn = new Database(path, { timeout: 0 });
    try {
      conn.exec(
        "CREATE TABLE IF NOT EXISTS owner (pid INTEGER NOT NULL, command TEXT NOT NULL, started_at TEXT NOT NULL, hostname TEXT NOT NULL)",
      );
    } catch (err) {
      conn.close();
      if (isBusy(err)) throw heldError(dataDir, readOwner(path));
      throw err;
    }
    const me: LockOwner = { pid: process.pid, command, started_at: new Date().toISOString(), hostname: hostname() };
    let stale: LockOwner | null;
    try {
      // Record the owner (committed, so others can read it), then hold the write lock from here on.
      // Two processes racing between the two steps: the second BEGIN of at most one of them fails.
      conn.exec("BEGIN IMMEDIATE");
      stale = (conn.prepare("SELECT pid, command, started_at, hostname FROM owner").get() as LockOwner | undefined) ?? null;
      conn.prepare("DELETE FROM owner").run();
      conn
        .prepare("INSERT INTO owner (pid, command, started_at, hostname) VALUES (?, ?, ?, ?)")
        .run(me.pid, me.command, me.started_at, me.hostname);
      conn.exec("COMMIT");
      conn.exec("BEGIN IMMEDIATE");
    } catch (err) {
      if (conn.inTransaction) conn.exec("ROLLBACK");
      conn.close();
      if (isBusy(err)) throw heldError(dataDir, readOwner(path));
      throw err;
    }
    return new DataDirLock(path, conn, stale);
  }

  /** The current holder of `dataDir`'s lock, or null when nobody holds it. */
  static holder(dataDir: string): LockOwner | null {
    const path = join(dataDir, LOCK_FILE);
    if (!existsSync(path)) return null;
    const conn = new Database(path, { timeout: 0 });
    try {
      conn.exec("BEGIN IMMEDIATE");
      conn.exec("ROLLBACK");
      return null;
    } catch (err) {
      if (!isBusy(err)) throw err;
    } finally {
      conn.close();
    }
    return readOwner(path) ?? { pid: 0, command: "unknown", started_at: "", hostname: "" };
  }

  /** Releases the lock and clears the owner row (a clean stop). Idempotent. */
  release(): void {
    const conn = this.#conn;
    if (!conn) return;
    this.#conn = null;
    try {
      conn.prepare("DELETE FROM owner").run();
      conn.exec("COMMIT");
    } finally {
      conn.close();
    }
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED";
}

/** The recorded owner, waiting briefly for a holder that is committing it. */
function readOwner(path: string): LockOwner | null {
  const conn = new Database(path, { readonly: true, fileMustExist: true, timeout: 1000 });
  try {
    return (conn.prepare("SELECT pid, command, started_at, hostname FROM owner").get() as LockOwner | undefined) ?? null;
  } catch {
    return null;
  } finally {
    conn.close();
  }
}

/** Describes a holder for messages: "deploykitd daemon (pid 123, started 2026-…)". */
export function describeOwner(o: LockOwner | null): string {
  if (!o || o.pid === 0) return "another process";
  return `deploykitd ${o.command} (pid ${o.pid}${o.hostname ? ` on ${o.hostname}` : ""}, started ${o.started_at})`;
}

function heldError(dataDir: string, owner: LockOwner | null): deploykit.DeployKitError {
  return deploykit.errorf(
    deploykit.ECONFLICT,
    `The data directory ${dataDir} is in use by ${describeOwner(owner)}: ${join(dataDir, LOCK_FILE)} is locked. ` +
      "Only one deploykitd may use a data directory at a time; stop the other one first.",
  );
}
