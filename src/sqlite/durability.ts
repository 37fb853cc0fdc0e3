import type Database from "better-sqlite3";
import * as deploykit from "../index.ts";

/**
 * SQLite releases with the WAL-reset bug (catalogue §2.4, F05): two connections writing or
 * checkpointing one WAL database can corrupt it. Present from 3.7.0 to 3.51.2; fixed in 3.51.3 and
 * backported to 3.50.7 and 3.44.6.
 */
export function walResetBugAffected(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return true;
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (maj !== 3) return maj < 3;
  if (min < 7) return false;
  if (min > 51 || (min === 51 && patch >= 3)) return false;
  if (min === 50 && patch >= 7) return false;
  if (min === 44 && patch >= 6) return false;
  return true;
}

export interface Durability {
  sqlite_version: string;
  journal_mode: string;
  synchronous: number;
}

/** The durability settings a connection actually has (a pragma can be refused silently, e.g. WAL on a filesystem without shared memory). */
export function durabilityOf(conn: Database.Database): Durability {
  return {
    sqlite_version: (conn.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v,
    journal_mode: String(conn.pragma("journal_mode", { simple: true })).toLowerCase(),
    synchronous: Number(conn.pragma("synchronous", { simple: true })),
  };
}

/**
 * Throws EINTERNAL unless the connection is what the durability claim needs: synchronous=FULL (2;
 * EXTRA, 3, is as good), WAL for a file database, and a SQLite without the WAL-reset bug.
 */
export function assertDurable(d: Durability, path: string): void {
  if (walResetBugAffected(d.sqlite_version))
    throw deploykit.errorf(
      deploykit.EINTERNAL,
      `SQLite ${d.sqlite_version} (bundled with better-sqlite3) has the WAL-reset bug that can corrupt the database (3.7.0 to 3.51.2; fixed in 3.51.3, 3.50.7 and 3.44.6); upgrade better-sqlite3.`,
    );
  if (d.synchronous < 2)
    throw deploykit.errorf(
      deploykit.EINTERNAL,
      `The database runs with synchronous=${d.synchronous}, not FULL (2): an acknowledged write could be lost to a power cut.`,
    );
  if (path !== ":memory:" && d.journal_mode !== "wal")
    throw deploykit.errorf(
      deploykit.EINTERNAL,
      `The database ${path} is in journal mode ${d.journal_mode}, not WAL (is it on a network filesystem?).`,
    );
}
