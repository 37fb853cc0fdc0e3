import { existsSync } from "node:fs";
import { resolve } from "node:path";
import * as deploykit from "../../index.ts";
import * as sqlite from "../../sqlite/index.ts";
import { whichDB } from "./backup.ts";
import type { Config } from "./config.ts";

function counts(n: sqlite.SecretRewrite | null): string {
  if (!n) return "nothing left to re-encrypt (the database was already under the new key)";
  return `re-encrypted ${n.env_vars} variables, ${n.deployments} deployment snapshots, ${n.pending_changes} staged changes`;
}

/**
 * `deploykitd rotate-key`: re-encrypts every variable value under a new key (same -db / -data-dir /
 * DEPLOYKIT_* resolution as the daemon), holding the data directory's lock so no daemon runs
 * meanwhile. With the key in DEPLOYKIT_SECRET_KEY, the new one comes from DEPLOYKIT_NEW_SECRET_KEY
 * (nothing is written to disk but the database). Returns what to print; the key is never printed.
 */
export function rotateKey(cfg: Config, env: NodeJS.ProcessEnv): string {
  const dbPath = resolve(cfg.db);
  if (cfg.db === ":memory:" || !existsSync(dbPath)) throw whichDB(cfg, deploykit.errorf(deploykit.ENOTFOUND, `No database at ${dbPath}.`));
  const lock = sqlite.DataDirLock.acquire(cfg.dataDir, "rotate-key");
  try {
    const envKey = env.DEPLOYKIT_SECRET_KEY?.trim();
    if (envKey) {
      const next = env.DEPLOYKIT_NEW_SECRET_KEY?.trim();
      if (!next)
        throw deploykit.errorf(
          deploykit.EINVALID,
          "The key comes from DEPLOYKIT_SECRET_KEY, so rotate-key cannot write the new one: set DEPLOYKIT_NEW_SECRET_KEY " +
            "to a new key (openssl rand -base64 32) and run it again.",
        );
      const from = new sqlite.SecretCipher(sqlite.parseSecretKey(envKey));
      const to = new sqlite.SecretCipher(sqlite.parseSecretKey(next, "DEPLOYKIT_NEW_SECRET_KEY"));
      const n = sqlite.reencryptDatabase(dbPath, from, to);
      return [
        `deploykitd: rotated the secret key of ${dbPath}`,
        `  ${counts(n)}`,
        "  next: set DEPLOYKIT_SECRET_KEY to the value of DEPLOYKIT_NEW_SECRET_KEY (and unset the latter) before starting deploykitd",
        "  backups made before now still need the previous key",
        "",
      ].join("\n");
    }
    const res = sqlite.rotateKeyFile(dbPath, cfg.dataDir);
    const keyFile = resolve(cfg.dataDir, sqlite.SECRET_KEY_FILE);
    return [
      `deploykitd: ${res.resumed ? "finished the interrupted rotation of" : "rotated"} the secret key of ${dbPath}`,
      `  ${counts(res.rewritten)}`,
      `  new key: ${keyFile} (mode 0600); the previous one is deleted`,
      "  backups made before now still need the key saved with them (<backup>.key)",
      "",
    ].join("\n");
  } finally {
    lock.release();
  }
}
