import { resolve } from "node:path";
import * as deploykit from "../../index.ts";
import * as sqlite from "../../sqlite/index.ts";
import { assertBackupKeyFree, saveBackupKey } from "./backup-key.ts";
import type { Config } from "./config.ts";

/** One line per main table: "projects 3, services 7, …". */
export function formatRows(rows: { table: string; count: number }[]): string {
  return rows.map((r) => `${r.table} ${r.count}`).join(", ");
}

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(0)} KiB`;
}

/** A missing database, with where its path came from and how to name the right one. */
export function whichDB(cfg: Config, err: unknown): Error {
  const from =
    cfg.dbFrom === "default"
      ? `the default, ./deploykit.db in the current directory`
      : cfg.dbFrom === "-data-dir"
        ? "-data-dir / DEPLOYKIT_DATA_DIR"
        : cfg.dbFrom;
  return new Error(
    `${deploykit.errorMessage(err).replace(/\.$/, "")} (path from ${from}). Nothing was written. ` +
      "Point at the daemon's database with -db <file> or -data-dir <dir> (or DEPLOYKIT_DB / DEPLOYKIT_DATA_DIR), as the daemon is started.",
  );
}

/**
 * `deploykitd backup <file>`: a verified copy of the daemon's database (the same -db / -data-dir /
 * DEPLOYKIT_* resolution as the daemon), and its secret key as `<file>.key`. Refuses a database that
 * does not exist — it never creates one — and an existing destination. Returns what to print.
 */
export function backup(cfg: Config, file: string, env: NodeJS.ProcessEnv = {}): string {
  const src = resolve(cfg.db);
  const dest = resolve(file);
  assertBackupKeyFree(dest);
  let rep: sqlite.DatabaseReport;
  try {
    rep = sqlite.backupFile(src, dest);
  } catch (err) {
    if (deploykit.errorCode(err) === deploykit.ENOTFOUND && deploykit.errorMessage(err).includes(src)) throw whichDB(cfg, err);
    throw err;
  }
  const schema = rep.migrations.at(-1) ?? "none";
  return [
    `deploykitd: backed up ${src} to ${dest}`,
    `  verified: integrity_check ${rep.integrity}; schema ${schema} (${rep.migrations.length} migrations); ${kib(rep.bytes)}; mode 0600`,
    `  rows: ${formatRows(rep.rows)}`,
    ...saveBackupKey(cfg.dataDir, dest, env),
    "  not included: the contents of Docker volumes; back those up with your volume tooling",
    "",
  ].join("\n");
}
