import { chownSync, closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import Database from "better-sqlite3";
import * as deploykit from "../index.ts";

/** Tables whose row counts a backup or restore reports: enough to see at a glance that the copy holds the instance. */
export const MAIN_TABLES = ["projects", "services", "deployments", "containers", "env_vars", "users"] as const;

/** What a database file holds, read without changing it. */
export interface DatabaseReport {
  /** `PRAGMA integrity_check` ("ok" when sound). */
  integrity: string;
  /** Applied migrations, in order (the schema version is the last one). */
  migrations: string[];
  /** Row counts of MAIN_TABLES present in the file. */
  rows: { table: string; count: number }[];
  bytes: number;
}

/**
 * Opens an existing DeployKit database read-only. Never creates a file: a missing path is ENOTFOUND,
 * a file that is not SQLite or has no DeployKit schema is EINVALID.
 */
export function openExisting(path: string, what = "database"): Database.Database {
  if (path === ":memory:" || path === "") throw deploykit.errorf(deploykit.EINVALID, `The ${what} must be a file, not "${path}".`);
  if (!existsSync(path)) throw deploykit.errorf(deploykit.ENOTFOUND, `The ${what} ${path} does not exist.`);
  if (!statSync(path).isFile()) throw deploykit.errorf(deploykit.EINVALID, `The ${what} ${path} is not a regular file.`);
  let conn: Database.Database;
  try {
    conn = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw deploykit.errorf(deploykit.EINVALID, `Cannot open the ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    // The first read is where SQLite notices a file that is not a database.
    const tables = conn
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((r) => (r as { name: string }).name);
    if (!tables.includes("_migrations") || !tables.includes("settings") || !tables.includes("projects"))
      throw deploykit.errorf(
        deploykit.EINVALID,
        `The ${what} ${path} is a SQLite file but not a DeployKit database (no DeployKit schema).`,
      );
  } catch (err) {
    conn.close();
    if (deploykit.isDeployKitError(err)) throw err;
    throw deploykit.errorf(deploykit.EINVALID, `The ${what} ${path} is not a DeployKit database: ${(err as Error).message}`);
  }
  return conn;
}

/** Integrity, schema version and row counts of an open connection. */
export function report(conn: Database.Database, path: string): DatabaseReport {
  let integrity: string;
  try {
    integrity = (conn.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check).join("; ");
  } catch (err) {
    integrity = (err as Error).message;
  }
  const bytes = path === ":memory:" ? 0 : statSync(path).size;
  // A damaged file is reported, not counted: its counts would mean nothing.
  if (integrity !== "ok") return { integrity, migrations: [], rows: [], bytes };
  const migrations = conn
    .prepare("SELECT name FROM _migrations ORDER BY name")
    .all()
    .map((r) => (r as { name: string }).name);
  const present = new Set(
    conn
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((r) => (r as { name: string }).name),
  );
  const rows = MAIN_TABLES.filter((t) => present.has(t)).map((table) => ({
    table,
    count: (conn.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n,
  }));
  return { integrity, migrations, rows, bytes };
}

/** Reads an existing DeployKit database's report without changing the file. */
export function inspect(path: string, what = "database"): DatabaseReport {
  const conn = openExisting(path, what);
  try {
    return report(conn, path);
  } finally {
    conn.close();
  }
}

/**
 * When running as root, gives `path` to the owner of `dir`: a file root creates in the daemon's data
 * directory (restore, the lock) must stay usable by the daemon's own user.
 */
export function giveToDirOwner(path: string, dir: string): void {
  if (process.getuid?.() !== 0) return;
  const st = statSync(dir);
  chownSync(path, st.uid, st.gid);
}

/** Creates `path` empty with mode 0600 (SQLite keeps the mode of a file it opens), failing if it exists. */
export function createPrivateFile(path: string): void {
  closeSync(openSync(path, "wx", 0o600));
}

export function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a consistent, self-contained snapshot of `conn`'s database into `tmp` (which must not exist;
 * created 0600) and checks it. The caller renames it into place or removes it.
 */
export function writeSnapshot(conn: Database.Database, tmp: string): DatabaseReport {
  createPrivateFile(tmp);
  // VACUUM INTO reads one snapshot (a WAL reader never blocks the daemon's writers) and writes a
  // compact copy; the online backup API instead restarts whenever another process writes.
  conn.prepare("VACUUM INTO ?").run(tmp);
  const copy = new Database(tmp, { fileMustExist: true });
  let rep: DatabaseReport;
  try {
    // One file, no -wal beside it: the copy can be moved or mailed on its own.
    copy.pragma("journal_mode = DELETE");
    rep = report(copy, tmp);
  } finally {
    copy.close();
  }
  if (rep.integrity !== "ok") throw deploykit.errorf(deploykit.EINTERNAL, `The copy failed integrity_check: ${rep.integrity}`);
  fsyncPath(tmp);
  return rep;
}

/** Removes a temporary database file and what SQLite may have left beside it. */
export function removeDatabaseFiles(path: string): void {
  for (const suffix of ["", "-journal", "-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true });
}

/**
 * Writes a verified copy of `conn`'s database to `dest` (mode 0600): written beside `dest` under a
 * temporary name, renamed into place only once it passes integrity_check. Refuses an existing `dest`.
 */
export function copyTo(conn: Database.Database, dest: string): DatabaseReport {
  if (existsSync(dest)) throw deploykit.errorf(deploykit.ECONFLICT, `${dest} already exists; choose another name or remove it first.`);
  const dir = dirname(dest);
  if (!existsSync(dir)) throw deploykit.errorf(deploykit.ENOTFOUND, `The directory ${dir} does not exist.`);
  const tmp = join(dir, `.${basename(dest)}.tmp-${process.pid}`);
  try {
    const rep = writeSnapshot(conn, tmp);
    renameSync(tmp, dest);
    fsyncPath(dir);
    return { ...rep, bytes: statSync(dest).size };
  } catch (err) {
    removeDatabaseFiles(tmp);
    throw err;
  }
}

/** `deploykit backup`: copies the existing database at `src` to `dest` and verifies the copy. */
export function backupFile(src: string, dest: string): DatabaseReport {
  const conn = openExisting(src);
  try {
    return copyTo(conn, dest);
  } finally {
    conn.close();
  }
}
