import { resolve } from "node:path";
import * as sqlite from "../../sqlite/index.ts";
import { formatRows } from "./backup.ts";
import { installRestoreKey, planRestoreKey } from "./backup-key.ts";
import type { Config } from "./config.ts";

/**
 * `deploykitd restore <file>`: replaces the daemon's database (same -db / -data-dir / DEPLOYKIT_*
 * resolution) with a backup, holding the data directory's lock so no daemon runs meanwhile, and
 * installs the backup's `<file>.key` when its values were sealed with it. Returns what to print.
 */
export function restore(cfg: Config, file: string, env: NodeJS.ProcessEnv = {}): string {
  const src = resolve(file);
  const dbPath = resolve(cfg.db);
  sqlite.ensureDataDir(cfg.dataDir);
  const lock = sqlite.DataDirLock.acquire(cfg.dataDir, "restore");
  let res: sqlite.RestoreResult;
  let keyLines: string[];
  try {
    const plan = planRestoreKey(cfg.dataDir, src, env);
    res = sqlite.restoreFile(src, dbPath);
    keyLines = installRestoreKey(cfg.dataDir, plan, new Date());
  } finally {
    lock.release();
  }
  const from = res.backup.migrations.at(-1) ?? "none";
  const to = res.restored.migrations.at(-1) ?? "none";
  const lines = [
    `deploykitd: restored ${src} into ${dbPath}`,
    `  verified: integrity_check ${res.restored.integrity}; schema ${to}` +
      (res.migrated.length > 0 ? ` (the backup was at ${from}; migrated forward: ${res.migrated.join(", ")})` : ""),
    `  rows: ${formatRows(res.restored.rows)}`,
    `  instance id: ${res.instanceID || "none yet (assigned at first start)"}`,
    res.previous ? `  the replaced database is kept as ${res.previous}` : "  there was no database to replace",
    ...keyLines,
  ];
  if (res.previousInstanceID)
    lines.push(
      `  note: the replaced database belonged to another instance (${res.previousInstanceID}); its containers are not managed by the restored one.`,
      `        List them with: docker ps -a --filter label=deploykit.instance=${res.previousInstanceID}`,
    );
  lines.push(
    "  next: start deploykitd. Its reconciler makes Docker match the restored state: it starts what the backup",
    "        describes and removes this instance's containers that the backup no longer has (only objects labelled with its instance id).",
    "",
  );
  return lines.join("\n");
}
