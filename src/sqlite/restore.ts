import { existsSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import Database from "better-sqlite3";
import * as deploykit from "../index.ts";
import { type DatabaseReport, fsyncPath, giveToDirOwner, openExisting, removeDatabaseFiles, report, writeSnapshot } from "./backup.ts";
import { DB, knownMigrations } from "./db.ts";
import { fileStamp } from "./upgrade.ts";

export interface RestoreOptions {
  /** Folder of migration files (tests point it elsewhere). */
  migrationsDir?: string;
  now?: () => Date;
}

export interface RestoreResult {
  /** The backup as read, before any migration. */
  backup: DatabaseReport;
  /** What is now at the database path. */
  restored: DatabaseReport;
  /** Migrations applied to bring the backup up to this build's schema (empty when it was current). */
  migrated: string[];
  /** Where the replaced database went (null when there was none). */
  previous: string | null;
  /** Instance ids: the restored one, and the replaced database's when it differs. */
  instanceID: string;
  previousInstanceID: string | null;
}

function instanceIDOf(conn: Database.Database): string {
  return (conn.prepare("SELECT value FROM settings WHERE key = 'instance_id'").get() as { value?: string } | undefined)?.value ?? "";
}

/**
 * Replaces the database at `dbPath` with the backup at `src`. The caller holds the data directory's
 * lock (no daemon is running on it).
 *
 * Refuses (EINVALID, nothing changed) a backup that is not a DeployKit database, fails
 * integrity_check or was made by a newer schema. The backup is copied beside `dbPath`, migrated
 * forward when older, checked again, and only then renamed into place; the replaced database (with
 * its -wal) is kept as `<db>.<stamp>.before-restore`. The backup file itself is never modified.
 */
export function restoreFile(src: string, dbPath: string, opts: RestoreOptions = {}): RestoreResult {
  const now = opts.now ?? (() => new Date());
  const known = knownMigrations(opts.migrationsDir);
  const dir = dirname(dbPath);
  if (!existsSync(dir)) throw deploykit.errorf(deploykit.ENOTFOUND, `The directory ${dir} does not exist.`);
  const tmp = join(dir, `.${basename(dbPath)}.restore-${process.pid}`);
  const conn = openExisting(src, "backup");
  let backup: DatabaseReport;
  let instanceID: string;
  try {
    backup = report(conn, src);
    if (backup.integrity !== "ok")
      throw deploykit.errorf(deploykit.EINVALID, `The backup ${src} fails integrity_check (${backup.integrity}); nothing was restored.`);
    const unknown = backup.migrations.filter((m) => !known.includes(m));
    if (unknown.length > 0)
      throw deploykit.errorf(
        deploykit.EINVALID,
        `The backup ${src} was made by a newer DeployKit (schema ${backup.migrations.at(-1)}); this deploykitd knows up to ${known.at(-1)}. ` +
          "Restore it with that version or a newer one; nothing was restored.",
      );
    instanceID = instanceIDOf(conn);
    removeDatabaseFiles(tmp);
    writeSnapshot(conn, tmp);
  } catch (err) {
    removeDatabaseFiles(tmp);
    throw err;
  } finally {
    conn.close();
  }

  let restored: DatabaseReport;
  let migrated: string[];
  try {
    // The daemon's own open path: same pragmas, same migrations, one transaction.
    const db = new DB(tmp, opts.migrationsDir ? { migrationsDir: opts.migrationsDir } : {});
    db.open();
    migrated = db.migrations().filter((m) => !backup.migrations.includes(m));
    db.close();
    const check = new Database(tmp, { fileMustExist: true });
    try {
      check.pragma("journal_mode = DELETE");
      restored = report(check, tmp);
    } finally {
      check.close();
    }
    if (restored.integrity !== "ok")
      throw deploykit.errorf(deploykit.EINTERNAL, `The restored copy failed integrity_check: ${restored.integrity}`);
    fsyncPath(tmp);
  } catch (err) {
    removeDatabaseFiles(tmp);
    throw err;
  }

  giveToDirOwner(tmp, dir);
  const { previous, previousInstanceID } = setAside(dbPath, fileStamp(now()));
  renameSync(tmp, dbPath);
  fsyncPath(dir);
  return {
    backup,
    restored,
    migrated,
    previous,
    instanceID,
    previousInstanceID: previousInstanceID && previousInstanceID !== instanceID ? previousInstanceID : null,
  };
}

/**
 * Moves the database at `dbPath` and its -wal aside as `<db>.<stamp>.before-restore`, folding the
 * WAL into it when it can (so the kept copy is one file). A -wal must never stay next to the restored
 * file: SQLite would replay it onto the wrong database.
 */
function setAside(dbPath: string, stamp: string): { previous: string | null; previousInstanceID: string | null } {
  const prev = `${dbPath}.${stamp}.before-restore`;
  const hadDB = existsSync(dbPath);
  const hadWAL = existsSync(`${dbPath}-wal`);
  rmSync(`${dbPath}-shm`, { force: true });
  if (!hadDB && !hadWAL) return { previous: null, previousInstanceID: null };
  if (hadDB) renameSync(dbPath, prev);
  if (hadWAL) renameSync(`${dbPath}-wal`, `${prev}-wal`);
  if (existsSync(`${dbPath}-journal`)) renameSync(`${dbPath}-journal`, `${prev}-journal`);
  let previousInstanceID: string | null = null;
  if (hadDB) {
    try {
      const old = new Database(prev, { fileMustExist: true });
      try {
        old.pragma("wal_checkpoint(TRUNCATE)");
        old.pragma("journal_mode = DELETE");
        previousInstanceID = instanceIDOf(old) || null;
      } finally {
        old.close();
      }
    } catch {
      // A damaged database (often the reason for a restore) is kept exactly as it was, -wal included.
    }
  }
  return { previous: hadDB ? prev : `${prev}-wal`, previousInstanceID };
}
