import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import * as deploykit from "../index.ts";
import { fsyncPath, giveToDirOwner, openExisting } from "./backup.ts";
import { parseSecretKey, SECRET_KEY_BYTES, SecretCipher } from "./secret-cipher.ts";
import { keyCheckMatches } from "./secret-rows.ts";

/** The key file's name inside the data directory. */
export const SECRET_KEY_FILE = "secret.key";
/** The previous key, kept by `rotate-key` until every value is re-encrypted. */
export const OLD_SECRET_KEY_FILE = "secret.key.old";

/** Where the daemon's key came from. */
export interface SecretKeySource {
  cipher: SecretCipher;
  /** The key file, or null when the key came from DEPLOYKIT_SECRET_KEY. */
  file: string | null;
  /** Whether the file was created just now (first start). */
  created: boolean;
}

/** Reads a key file: base64 text (as written here) or the raw 32 bytes. Throws EINVALID naming the file. */
export function readKeyFile(path: string): Buffer {
  const raw = readFileSync(path);
  if (raw.length === SECRET_KEY_BYTES) return raw;
  return parseSecretKey(raw.toString("utf8"), `The key file ${path}`);
}

/** Writes `key` (base64, one line) to `path` with mode 0600, atomically (temporary file, fsync, rename). */
export function writeKeyFile(path: string, key: Buffer): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${SECRET_KEY_FILE}.tmp-${process.pid}`);
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, `${key.toString("base64")}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  giveToDirOwner(tmp, dir);
  renameSync(tmp, path);
  fsyncPath(dir);
}

/** A fresh random key. */
export function newSecretKey(): Buffer {
  return randomBytes(SECRET_KEY_BYTES);
}

/**
 * The daemon's key: DEPLOYKIT_SECRET_KEY when set (a wrong length is refused), else
 * `<dataDir>/secret.key`, created (0600) when missing.
 */
export function loadSecretKey(dataDir: string, envKey: string | undefined): SecretKeySource {
  if (envKey !== undefined && envKey.trim() !== "") return { cipher: new SecretCipher(parseSecretKey(envKey)), file: null, created: false };
  const file = join(dataDir, SECRET_KEY_FILE);
  if (existsSync(file)) return { cipher: new SecretCipher(readKeyFile(file)), file, created: false };
  const key = newSecretKey();
  writeKeyFile(file, key);
  return { cipher: new SecretCipher(key), file, created: true };
}

/** The key a rotation left behind, if one was interrupted. */
export function oldKeyFile(dataDir: string): string | null {
  const p = join(dataDir, OLD_SECRET_KEY_FILE);
  return existsSync(p) ? p : null;
}

/** Throws EINVALID when `path` cannot hold a key (used before trusting a backup's `.key`). */
export function assertKeyFile(path: string): SecretCipher {
  try {
    return new SecretCipher(readKeyFile(path));
  } catch (err) {
    throw deploykit.errorf(deploykit.EINVALID, deploykit.errorMessage(err));
  }
}

/**
 * The key check recorded in an existing database file (read-only), or null when its values were
 * never sealed (an older version's database or backup: any key will do, the daemon seals it at start).
 */
export function recordedKeyCheck(path: string, what = "database"): string | null {
  const conn = openExisting(path, what);
  try {
    const has = conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'secret_state'").get();
    if (!has) return null;
    return (conn.prepare("SELECT key_check FROM secret_state WHERE id = 1").get() as { key_check: string } | undefined)?.key_check ?? null;
  } finally {
    conn.close();
  }
}

/** Whether `cipher` is the key the database file's values are sealed with (true when none are sealed). */
export function fileKeyMatches(path: string, cipher: SecretCipher): boolean {
  const check = recordedKeyCheck(path);
  return check === null || keyCheckMatches(cipher, check);
}
