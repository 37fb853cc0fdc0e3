import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as deploykit from "../index.ts";
import { fsyncPath } from "./backup.ts";
import { DB } from "./db.ts";
import { SecretCipher } from "./secret-cipher.ts";
import { newSecretKey, OLD_SECRET_KEY_FILE, readKeyFile, SECRET_KEY_FILE, writeKeyFile } from "./secret-key.ts";
import { keyMatches, reencryptSecrets, type SecretRewrite } from "./secret-rows.ts";

export interface RotateResult {
  /** What was re-encrypted; null when the database already was under the new key (a resumed rotation). */
  rewritten: SecretRewrite | null;
  /** Whether an interrupted rotation was finished rather than a new one started. */
  resumed: boolean;
}

/**
 * Re-seals every value of the database file under `to`, in one transaction: a crash leaves it all
 * under `from`. A database already under `to` (the commit happened, the clean-up did not) is left
 * alone. Throws EINTERNAL when `from` is not its key either.
 */
export function reencryptDatabase(dbPath: string, from: SecretCipher, to: SecretCipher): SecretRewrite | null {
  // No cipher: the start-up sealing step is skipped, both keys are handled explicitly below.
  const db = new DB(dbPath, { backupBeforeMigrate: true });
  db.open();
  try {
    return db.write((tx) => {
      if (tx.get("SELECT 1 FROM secret_state WHERE id = 1") && keyMatches(tx, to)) return null;
      return reencryptSecrets(tx, from, to);
    });
  } finally {
    db.close();
  }
}

/**
 * Rotates `<dataDir>/secret.key`: the current key is kept as secret.key.old, a new one written as
 * secret.key, every value re-encrypted, then secret.key.old removed. Run again after a crash, it
 * finishes the interrupted rotation (secret.key.old present). The caller holds the data directory's
 * lock. Throws ENOTFOUND when there is no key file.
 */
export function rotateKeyFile(dbPath: string, dataDir: string): RotateResult {
  const keyFile = join(dataDir, SECRET_KEY_FILE);
  const oldFile = join(dataDir, OLD_SECRET_KEY_FILE);
  const resumed = existsSync(oldFile);
  if (!existsSync(keyFile))
    throw deploykit.errorf(
      deploykit.ENOTFOUND,
      resumed
        ? `${oldFile} exists but ${keyFile} does not: restore the newer key file, or rename ${OLD_SECRET_KEY_FILE} back to ${SECRET_KEY_FILE}.`
        : `There is no key file ${keyFile}: deploykitd creates it at its first start (or the key comes from DEPLOYKIT_SECRET_KEY: then set DEPLOYKIT_NEW_SECRET_KEY too).`,
    );
  if (!resumed) {
    const current = readKeyFile(keyFile);
    writeKeyFile(oldFile, current);
    writeKeyFile(keyFile, newSecretKey());
  }
  const from = new SecretCipher(readKeyFile(oldFile));
  const to = new SecretCipher(readKeyFile(keyFile));
  const rewritten = reencryptDatabase(dbPath, from, to);
  rmSync(oldFile);
  fsyncPath(dataDir);
  return { rewritten, resumed };
}
