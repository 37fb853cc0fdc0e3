/**
 * Where variable values sit in the database, and how they are sealed there (issue 14): env_vars.value,
 * each deployment's env snapshot (the whole JSON map, one sealed string), and the value fields of
 * staged changes (`value`, `old_value`, `env_vars[].value`), sealed field by field so the rest of a
 * payload stays queryable. Everything that reads or writes those columns goes through these helpers.
 */
import * as deploykit from "../index.ts";
import { isSealed, type SecretCipher } from "./secret-cipher.ts";

/** The slice of db.ts's Tx used here (db.ts runs prepareSecrets, so this file cannot import it). */
interface Tx {
  readonly now: string;
  readonly cipher: SecretCipher;
  get<T>(sql: string, ...params: (string | number | null)[]): T | undefined;
  all<T>(sql: string, ...params: (string | number | null)[]): T[];
  run(sql: string, ...params: (string | number | null)[]): { changes: number };
}

type Payload = Record<string, unknown>;

/** A known plaintext sealed into secret_state: proves at start that the key is the one the values were sealed with. */
const KEY_CHECK = "deploykit secret key check";

/** The store's values are always sealed once the start-up step ran; anything else is a legacy plaintext. */
export function openValue(cipher: SecretCipher, stored: string): string {
  return isSealed(stored) ? cipher.open(stored) : stored;
}

export function sealSnapshotEnv(tx: Tx, env: Record<string, string>): string {
  return tx.cipher.seal(JSON.stringify(env));
}

export function openSnapshotEnv(tx: Tx, stored: string): Record<string, string> {
  if (stored === "" || stored === "{}") return {};
  try {
    return JSON.parse(openValue(tx.cipher, stored)) as Record<string, string>;
  } catch (err) {
    if (deploykit.isDeployKitError(err)) throw err;
    return {};
  }
}

/** Applies `f` to every value field of a staged change's payload (a copy; other fields untouched). */
export function mapPayloadSecrets(p: Payload, f: (s: string) => string): Payload {
  const out: Payload = { ...p };
  for (const k of ["value", "old_value"]) if (typeof out[k] === "string") out[k] = f(out[k] as string);
  if (Array.isArray(out.env_vars))
    out.env_vars = (out.env_vars as unknown[]).map((e) =>
      e !== null && typeof e === "object" && typeof (e as Payload).value === "string"
        ? { ...(e as Payload), value: f((e as Payload).value as string) }
        : e,
    );
  return out;
}

export function sealPayload(tx: Tx, p: Payload): Payload {
  return mapPayloadSecrets(p, (s) => tx.cipher.seal(s));
}

export function openPayload(tx: Tx, p: Payload): Payload {
  return mapPayloadSecrets(p, (s) => openValue(tx.cipher, s));
}

/** Counts of what a pass over the stored values rewrote. */
export interface SecretRewrite {
  env_vars: number;
  deployments: number;
  pending_changes: number;
}

/**
 * Rewrites every stored value with `f` (seal a legacy plaintext, or re-seal under another key), in
 * the caller's transaction: either all of them change or none do.
 */
export function rewriteSecrets(tx: Tx, f: (stored: string) => string): SecretRewrite {
  const n: SecretRewrite = { env_vars: 0, deployments: 0, pending_changes: 0 };
  for (const r of tx.all<{ id: string; value: string }>("SELECT id, value FROM env_vars")) {
    tx.run("UPDATE env_vars SET value = ? WHERE id = ?", f(r.value), r.id);
    n.env_vars++;
  }
  for (const r of tx.all<{ id: string; env_vars: string }>("SELECT id, env_vars FROM deployments")) {
    tx.run("UPDATE deployments SET env_vars = ? WHERE id = ?", f(r.env_vars), r.id);
    n.deployments++;
  }
  for (const r of tx.all<{ id: string; payload: string }>("SELECT id, payload FROM pending_changes")) {
    let p: Payload;
    try {
      p = JSON.parse(r.payload) as Payload;
    } catch {
      continue;
    }
    const sealed = JSON.stringify(mapPayloadSecrets(p, f));
    if (sealed === r.payload) continue;
    tx.run("UPDATE pending_changes SET payload = ? WHERE id = ?", sealed, r.id);
    n.pending_changes++;
  }
  return n;
}

export const WRONG_KEY_MESSAGE =
  "The secret key does not match this database: its variable values were encrypted with another key. " +
  "Start with the secret.key file (or DEPLOYKIT_SECRET_KEY) this database was created or last rotated with; " +
  "a backup's key is kept next to it as <backup>.key, and an interrupted `deploykitd rotate-key` leaves the previous key as secret.key.old.";

/** Whether `cipher` is the key the database's values are sealed with (true for a database not sealed yet). */
export function keyMatches(tx: Tx, cipher: SecretCipher): boolean {
  const st = tx.get<{ key_check: string }>("SELECT key_check FROM secret_state WHERE id = 1");
  return !st || keyCheckMatches(cipher, st.key_check);
}

/** Whether `cipher` opens a database's recorded key check. */
export function keyCheckMatches(cipher: SecretCipher, keyCheck: string): boolean {
  try {
    return cipher.open(keyCheck) === KEY_CHECK;
  } catch {
    return false;
  }
}

/** Records `cipher` as the key the values are sealed with. */
export function recordKey(tx: Tx, cipher: SecretCipher): void {
  tx.run(
    "INSERT INTO secret_state (id, key_check, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET key_check = excluded.key_check, updated_at = excluded.updated_at",
    cipher.seal(KEY_CHECK),
    tx.now,
  );
}

/**
 * The start-up step after the migrations: a database whose values were never sealed (every version
 * before issue 14, or a restored old backup) has all of them sealed now, in one transaction; one
 * already sealed is checked against the key. Returns what was sealed (null when nothing needed it).
 * Throws EINTERNAL WRONG_KEY_MESSAGE.
 */
export function prepareSecrets(tx: Tx): SecretRewrite | null {
  // A test's older migration set has no such table yet: nothing to seal against.
  if (!tx.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'secret_state'")) return null;
  if (tx.get("SELECT 1 FROM secret_state WHERE id = 1")) {
    if (!keyMatches(tx, tx.cipher)) throw deploykit.errorf(deploykit.EINTERNAL, WRONG_KEY_MESSAGE);
    return null;
  }
  // Before the first sealing every stored value is plaintext, whatever it looks like (even "v1:…").
  const n = rewriteSecrets(tx, (s) => tx.cipher.seal(s));
  recordKey(tx, tx.cipher);
  return n;
}

/** Re-seals every value under `to` (rotate-key), checking first that `from` is the current key. */
export function reencryptSecrets(tx: Tx, from: SecretCipher, to: SecretCipher): SecretRewrite {
  if (!keyMatches(tx, from)) throw deploykit.errorf(deploykit.EINTERNAL, WRONG_KEY_MESSAGE);
  const sealedYet = tx.get("SELECT 1 FROM secret_state WHERE id = 1") !== undefined;
  const n = rewriteSecrets(tx, (s) => to.seal(sealedYet ? openValue(from, s) : s));
  recordKey(tx, to);
  return n;
}
