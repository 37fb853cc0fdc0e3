/** The SQLite implementation of the domain services (better-sqlite3, one connection per DB). */
export { AuthService } from "./auth.ts";
export { backupFile, type DatabaseReport, inspect, MAIN_TABLES } from "./backup.ts";
export { BuildService } from "./build.ts";
export { CanvasService } from "./canvas.ts";
export { ContainerService } from "./container.ts";
export { DB, type DBOptions, knownMigrations } from "./db.ts";
export { DeploymentService } from "./deployment.ts";
export { DomainService } from "./domains.ts";
export { EnvVarService } from "./envvar.ts";
export { DataDirLock, describeOwner, ensureDataDir, LOCK_FILE, type LockOwner } from "./lock.ts";
export { MetricsStore } from "./metrics.ts";
export { PendingChangeService } from "./pending-change.ts";
export { ProjectService } from "./project.ts";
export { type RestoreResult, restoreFile } from "./restore.ts";
export { ServiceRunService } from "./run.ts";
export { BACKUP_CHECK_MS, backupDirectory, ScheduledBackups, scheduledBackups } from "./scheduled-backup.ts";
export { isSealed, parseSecretKey, SecretCipher } from "./secret-cipher.ts";
export {
  fileKeyMatches,
  loadSecretKey,
  OLD_SECRET_KEY_FILE,
  readKeyFile,
  recordedKeyCheck,
  SECRET_KEY_FILE,
  writeKeyFile,
} from "./secret-key.ts";
export { type RotateResult, reencryptDatabase, rotateKeyFile } from "./secret-rotate.ts";
export type { SecretRewrite } from "./secret-rows.ts";
export { ServiceService } from "./service.ts";
export { SettingsService } from "./settings.ts";
export { ShellSessionService } from "./shell.ts";
export { fileStamp, KEEP_PRE_MIGRATION_BACKUPS, preMigrationBackups } from "./upgrade.ts";
export { UserService } from "./user.ts";
