import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import * as deploykit from "../index.ts";
import type { DatabaseReport } from "./backup.ts";
import { fileStamp } from "./upgrade.ts";

const PREFIX = "deploykit-";
const SUFFIX = ".db";
const NAME = /^deploykit-\d{8}T\d{6}Z(-\d+)?\.db$/;
/** How often the schedule is looked at; a backup is taken when the newest one is an interval old. */
export const BACKUP_CHECK_MS = 60_000;

export interface ScheduledBackupOptions {
  /** The daemon's database file (":memory:" has nothing to back up). */
  dbPath: string;
  /** Relative `backup_dir` settings and the default (`<data-dir>/backups`) resolve against it. */
  dataDir: string;
  settings: Pick<deploykit.SettingsService, "getSettings">;
  logger?: deploykit.Logger;
  now?: () => Date;
  checkEveryMs?: number;
}

/** The directory scheduled backups go to under `settings`. */
export function backupDirectory(settings: Pick<deploykit.Settings, "backup_dir">, dataDir: string): string {
  const dir = settings.backup_dir.trim();
  if (dir === "") return resolve(dataDir, "backups");
  return isAbsolute(dir) ? dir : resolve(dataDir, dir);
}

/** The scheduled backups in `dir`, oldest first (only files this scheduler names). */
export function scheduledBackups(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((f) => NAME.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Issue 20: state backups on a schedule, online while the daemon serves. Each is a verified copy
 * (integrity_check, mode 0600) written by a worker thread through its own connection; the newest
 * `backup_retention` are kept. The last result is kept for admin System, where a failure, or no
 * success for two intervals, is a warning.
 */
export class ScheduledBackups {
  readonly #o: ScheduledBackupOptions;
  readonly #log: deploykit.Logger;
  readonly #now: () => Date;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<deploykit.ScheduledBackupResult> | null = null;
  #last: deploykit.ScheduledBackupResult | undefined;
  #lastSuccessAt: Date | undefined;

  constructor(o: ScheduledBackupOptions) {
    this.#o = o;
    this.#log = o.logger ?? deploykit.nopLogger;
    this.#now = o.now ?? (() => new Date());
  }

  start(): void {
    if (this.#o.dbPath === ":memory:") return;
    const every = this.#o.checkEveryMs ?? BACKUP_CHECK_MS;
    const loop = () => {
      this.#timer = setTimeout(() => {
        this.tick()
          .catch((err) => this.#log.error({ err: deploykit.errorMessage(err) }, "scheduled backup check failed"))
          .finally(loop);
      }, every);
      this.#timer.unref();
    };
    loop();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => {});
  }

  /** Takes a backup when they are on and the newest is at least an interval old. */
  async tick(): Promise<deploykit.ScheduledBackupResult | null> {
    const s = await this.#o.settings.getSettings();
    if (!s.backup_enabled || this.#o.dbPath === ":memory:") return null;
    const newest = this.#newestSuccess(s);
    if (newest && this.#now().getTime() - newest.getTime() < s.backup_interval_hours * 3_600_000) return null;
    return this.runNow();
  }

  /** One backup now (at most one at a time), then retention. Never throws: the result says what happened. */
  runNow(): Promise<deploykit.ScheduledBackupResult> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async status(): Promise<deploykit.ScheduledBackupStatus> {
    const s = await this.#o.settings.getSettings();
    const directory = backupDirectory(s, this.#o.dataDir);
    const st: deploykit.ScheduledBackupStatus = {
      enabled: s.backup_enabled && this.#o.dbPath !== ":memory:",
      directory,
      interval_hours: s.backup_interval_hours,
      retention: s.backup_retention,
      kept: scheduledBackups(directory).length,
    };
    if (this.#last) st.last = this.#last;
    const newest = this.#newestSuccess(s);
    if (newest) {
      st.last_success_at = newest.toISOString();
      st.next_at = new Date(newest.getTime() + s.backup_interval_hours * 3_600_000).toISOString();
    }
    const warning = deploykit.scheduledBackupWarning(st, this.#now());
    if (warning) st.warning = warning;
    return st;
  }

  #newestSuccess(s: deploykit.Settings): Date | undefined {
    if (this.#lastSuccessAt) return this.#lastSuccessAt;
    // After a restart, the newest file in the directory tells when the last one succeeded.
    const newest = scheduledBackups(backupDirectory(s, this.#o.dataDir)).at(-1);
    if (!newest) return undefined;
    try {
      return statSync(newest).mtime;
    } catch {
      return undefined;
    }
  }

  async #run(): Promise<deploykit.ScheduledBackupResult> {
    const started = this.#now();
    const s = await this.#o.settings.getSettings();
    const dir = backupDirectory(s, this.#o.dataDir);
    let result: deploykit.ScheduledBackupResult;
    try {
      // Only the last component is created: a recursive mkdir under a pseudo file system (/proc)
      // never returns, and it runs on the event loop.
      if (!existsSync(dir)) mkdirSync(dir, { mode: 0o700 });
      let dest = join(dir, `${PREFIX}${fileStamp(started)}${SUFFIX}`);
      for (let i = 1; scheduledBackups(dir).includes(dest); i++) dest = join(dir, `${PREFIX}${fileStamp(started)}-${i}${SUFFIX}`);
      const rep = await copyOffThread(resolve(this.#o.dbPath), dest);
      result = {
        at: started.toISOString(),
        ok: true,
        path: dest,
        bytes: rep.bytes,
        rows: rep.rows,
        duration_ms: this.#now().getTime() - started.getTime(),
      };
      this.#lastSuccessAt = started;
      const all = scheduledBackups(dir);
      for (const old of all.slice(0, Math.max(0, all.length - s.backup_retention))) rmSync(old, { force: true });
      this.#log.info({ path: dest, bytes: rep.bytes, duration_ms: result.duration_ms }, "scheduled backup written");
    } catch (err) {
      result = { at: started.toISOString(), ok: false, error: reason(err), duration_ms: this.#now().getTime() - started.getTime() };
      this.#log.error({ dir, err: result.error }, "scheduled backup failed");
    }
    this.#last = result;
    return result;
  }
}

function copyOffThread(src: string, dest: string): Promise<DatabaseReport> {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return new Promise((res, rej) => {
    const w = new Worker(new URL(`./backup-worker${ext}`, import.meta.url), { workerData: { src, dest } });
    let answer: { ok: boolean; report?: DatabaseReport; error?: string } | undefined;
    w.once("message", (m: typeof answer) => {
      answer = m;
    });
    w.once("error", rej);
    // Settled only once the thread is gone: a caller that stops (or a process that exits) right after
    // the answer must not leave a thread behind that still holds a native SQLite connection.
    w.once("exit", (code) => {
      if (answer?.ok && answer.report) res(answer.report);
      else rej(new Error(answer?.error ?? (code !== 0 ? `backup worker exited with ${code}` : "backup failed")));
    });
  });
}

/** What went wrong, for the admin: a file system error's own message, not "Internal error.". */
function reason(err: unknown): string {
  if (deploykit.isDeployKitError(err)) return deploykit.errorMessage(err);
  return err instanceof Error ? err.message : String(err);
}
