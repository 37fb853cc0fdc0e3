/**
 * The secret key around `deploykitd backup` and `restore` (issue 14): a backup's variable values are
 * encrypted, so the key travels with it as `<backup>.key` (0600), and restore installs that key when
 * the backup was sealed with it. Everything is checked before anything is written.
 */
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import * as deploykit from "../../index.ts";
import * as sqlite from "../../sqlite/index.ts";

/** The key file written next to a backup. */
export function backupKeyPath(backupFile: string): string {
  return `${backupFile}.key`;
}

/** Refuses a backup whose `.key` destination already exists (checked before the copy is made). */
export function assertBackupKeyFree(dest: string): void {
  const keyDest = backupKeyPath(dest);
  if (existsSync(keyDest))
    throw deploykit.errorf(deploykit.ECONFLICT, `${keyDest} already exists; choose another name or remove it first.`);
}

/** After the copy: writes `<dest>.key` when the key is a file, and returns the lines to print. */
export function saveBackupKey(dataDir: string, dest: string, env: NodeJS.ProcessEnv): string[] {
  if (sqlite.recordedKeyCheck(dest) === null)
    return ["  variables in this copy are not encrypted yet (the daemon encrypts them at its next start): keep it private"];
  if (env.DEPLOYKIT_SECRET_KEY?.trim())
    return [
      "  variable values are encrypted with the key in DEPLOYKIT_SECRET_KEY: keep that key with this backup,",
      "  restore cannot read the values without it",
    ];
  const keyFile = join(dataDir, sqlite.SECRET_KEY_FILE);
  if (!existsSync(keyFile))
    return [`  variable values are encrypted, but there is no ${keyFile}: keep the key they were encrypted with, restore needs it`];
  const key = sqlite.readKeyFile(keyFile);
  if (!sqlite.fileKeyMatches(dest, new sqlite.SecretCipher(key)))
    return [`  warning: ${keyFile} is not the key this database's values are encrypted with; keep the right one with this backup`];
  const keyDest = backupKeyPath(dest);
  sqlite.writeKeyFile(keyDest, key);
  return [
    `  secret key: ${keyDest} (mode 0600); restore needs it. Whoever holds both files can read every variable:`,
    "  store the key apart from the backup when the backup leaves this host",
  ];
}

/** What restore does about the key, decided before the database is touched. */
export interface RestoreKeyPlan {
  /** A key to install as `<data-dir>/secret.key` after the restore (the backup's own). */
  install: Buffer | null;
  lines: string[];
}

/**
 * Finds the key the backup `src` was sealed with: `<src>.key`, DEPLOYKIT_SECRET_KEY or the current
 * secret.key. Throws EINVALID (nothing written) when none of them opens it.
 */
export function planRestoreKey(dataDir: string, src: string, env: NodeJS.ProcessEnv): RestoreKeyPlan {
  if (sqlite.recordedKeyCheck(src, "backup") === null) return { install: null, lines: [] };
  const side = backupKeyPath(src);
  const sideKey = existsSync(side) ? sqlite.readKeyFile(side) : null;
  const sideMatches = sideKey !== null && sqlite.fileKeyMatches(src, new sqlite.SecretCipher(sideKey));
  const envKey = env.DEPLOYKIT_SECRET_KEY?.trim();
  if (envKey) {
    if (sqlite.fileKeyMatches(src, new sqlite.SecretCipher(sqlite.parseSecretKey(envKey)))) return { install: null, lines: [] };
    throw deploykit.errorf(
      deploykit.EINVALID,
      `The backup's variable values are encrypted with another key than DEPLOYKIT_SECRET_KEY. Nothing was written.` +
        (sideMatches ? ` Set DEPLOYKIT_SECRET_KEY to the key in ${side} and run restore again.` : ""),
    );
  }
  const keyFile = join(dataDir, sqlite.SECRET_KEY_FILE);
  const current = existsSync(keyFile) ? sqlite.readKeyFile(keyFile) : null;
  if (sideMatches && sideKey) {
    if (current?.equals(sideKey)) return { install: null, lines: [] };
    return { install: sideKey, lines: [`  secret key: installed ${side} as ${keyFile}`] };
  }
  if (current && sqlite.fileKeyMatches(src, new sqlite.SecretCipher(current))) return { install: null, lines: [] };
  throw deploykit.errorf(
    deploykit.EINVALID,
    `The backup's variable values are encrypted with a key that is neither ${side} nor ${keyFile}. Nothing was written. ` +
      `Put the key saved with the backup next to it as ${side} (deploykitd backup writes it there), or set DEPLOYKIT_SECRET_KEY to it.`,
  );
}

/** Installs the planned key, keeping the replaced one as `secret.key.<stamp>.before-restore`. */
export function installRestoreKey(dataDir: string, plan: RestoreKeyPlan, now: Date): string[] {
  if (!plan.install) return plan.lines;
  const keyFile = join(dataDir, sqlite.SECRET_KEY_FILE);
  const lines = [...plan.lines];
  if (existsSync(keyFile)) {
    const aside = `${keyFile}.${sqlite.fileStamp(now)}.before-restore`;
    renameSync(keyFile, aside);
    lines.push(`  the replaced key is kept as ${aside}`);
  }
  sqlite.writeKeyFile(keyFile, plan.install);
  return lines;
}
