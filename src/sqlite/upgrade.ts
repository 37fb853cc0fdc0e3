import { readdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type Database from "better-sqlite3";
import { fsyncPath, removeDatabaseFiles, writeSnapshot } from "./backup.ts";

/** How many automatic pre-migration copies are kept next to the database. */
export const KEEP_PRE_MIGRATION_BACKUPS = 3;

const SUFFIX = ".before-migration";

/** "20261203T184700Z": sortable, and safe in file names. */
export function fileStamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** The automatic copies of `dbPath` taken before migrations, oldest first. */
export function preMigrationBackups(dbPath: string): string[] {
  const dir = dirname(dbPath);
  const prefix = `${basename(dbPath)}.`;
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith(SUFFIX) && /^\d{8}T\d{6}Z(-\d+)?$/.test(f.slice(prefix.length, -SUFFIX.length)))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Copies the database (verified, 0600) to `<db>.<stamp>.before-migration` before an upgrade changes
 * its schema, and deletes all but the newest KEEP_PRE_MIGRATION_BACKUPS such copies. Returns the
 * copy's path.
 */
export function backupBeforeMigration(conn: Database.Database, dbPath: string, now: Date): string {
  let dest = `${dbPath}.${fileStamp(now)}${SUFFIX}`;
  // Two upgrades within a second (a crash loop) must not collide.
  for (let i = 1; preMigrationBackups(dbPath).includes(dest); i++) dest = `${dbPath}.${fileStamp(now)}-${i}${SUFFIX}`;
  const tmp = join(dirname(dbPath), `.${basename(dest)}.tmp-${process.pid}`);
  try {
    writeSnapshot(conn, tmp);
    renameSync(tmp, dest);
    fsyncPath(dirname(dbPath));
  } catch (err) {
    removeDatabaseFiles(tmp);
    throw err;
  }
  const all = preMigrationBackups(dbPath);
  for (const old of all.slice(0, Math.max(0, all.length - KEEP_PRE_MIGRATION_BACKUPS))) rmSync(old, { force: true });
  return dest;
}
