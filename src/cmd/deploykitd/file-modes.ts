import { chmodSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { SECRET_KEY_FILE } from "../../sqlite/index.ts";
import { SETUP_TOKEN_FILE } from "./setup-token.ts";

/**
 * The database holds password hashes, token digests and every variable value: nobody but the daemon's
 * user may read it. Files the daemon creates from now on are private (umask 077); files and the data
 * directory that already exist with looser modes (an older version, a copy, a restore) are tightened:
 * the directory to 0700, the database, its WAL/SHM, the setup token and the secret key to 0600. Returns what changed.
 */
export function tightenDataModes(dataDir: string, dbPath: string): string[] {
  process.umask(0o077);
  const changed: string[] = [];
  const tighten = (path: string, mode: number) => {
    try {
      const st = lstatSync(path);
      // Never follow a symlink someone put there, and leave what is already strict alone.
      if (st.isSymbolicLink() || (st.mode & 0o777 & ~mode) === 0) return;
      chmodSync(path, mode);
      changed.push(`${path} ${(st.mode & 0o777).toString(8)}→${mode.toString(8)}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  };
  tighten(dataDir, 0o700);
  if (dbPath !== ":memory:") for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) tighten(f, 0o600);
  tighten(join(dataDir, SETUP_TOKEN_FILE), 0o600);
  tighten(join(dataDir, SECRET_KEY_FILE), 0o600);
  return changed;
}
