import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import * as deploykit from "../index.ts";
import { assertDurable, durabilityOf } from "./durability.ts";
import { SecretCipher } from "./secret-cipher.ts";
import { prepareSecrets } from "./secret-rows.ts";
import { backupBeforeMigration } from "./upgrade.ts";

/** Ordered `NNNNN_name.sql` files, applied once each. Copied next to the build output by scripts/finish-build.mjs. */
const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

export interface DBOptions {
  /** The clock; every row written in one transaction gets the same `now`. */
  now?: () => Date;
  /** When set, service.created/updated/deleted are published after commit. */
  bus?: deploykit.EventBus;
  logger?: deploykit.Logger;
  /** Folder of migration files (tests point it at a broken set). */
  migrationsDir?: string;
  /**
   * Before migrating a database that already has a schema, copy it to `<db>.<time>.before-migration`
   * (the newest three are kept). The daemon sets it; restore and tests do not.
   */
  backupBeforeMigrate?: boolean;
  /**
   * The key variable values are sealed with (issue 14). An in-memory database without one gets a
   * random key for its lifetime; a file opened without one (maintenance commands that touch no
   * variable) skips the sealing step, and any read or write of a value fails plainly.
   */
  cipher?: SecretCipher;
}

/** The migration files this build knows, in order. */
export function knownMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
}

export type Param = string | number | bigint | null | Buffer;

/**
 * One transaction. Private helpers take it as their first argument (`findServices(tx, filter)`), so
 * a public method is always "begin, call helpers, commit".
 */
export interface Tx {
  /** The transaction's single timestamp (RFC 3339 with milliseconds). */
  readonly now: string;
  readonly nowDate: Date;
  get<T>(sql: string, ...params: Param[]): T | undefined;
  all<T>(sql: string, ...params: Param[]): T[];
  run(sql: string, ...params: Param[]): { changes: number };
  /** Runs after a successful commit (event publication); never after a rollback. */
  afterCommit(fn: () => void): void;
  /** Seals and opens variable values (see secret-rows.ts). Throws EINTERNAL when the DB was opened without a key. */
  readonly cipher: SecretCipher;
}

/** The database: one better-sqlite3 connection, its pragmas, migrations and transactions. */
export class DB {
  readonly path: string;
  readonly now: () => Date;
  readonly bus: deploykit.EventBus | undefined;
  readonly logger: deploykit.Logger;
  readonly cipher: SecretCipher | null;
  readonly #migrationsDir: string;
  /** The bundled SQLite's version, known once open. */
  sqliteVersion = "";
  readonly #backupBeforeMigrate: boolean;
  /** The automatic copy taken before the last migration (null when none was needed). */
  preMigrationBackup: string | null = null;
  #conn: Database.Database | null = null;
  readonly #stmts = new Map<string, Database.Statement>();

  constructor(path: string, opts: DBOptions = {}) {
    this.path = path;
    this.now = opts.now ?? (() => new Date());
    this.bus = opts.bus;
    this.logger = opts.logger ?? deploykit.nopLogger;
    this.#migrationsDir = opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
    this.#backupBeforeMigrate = opts.backupBeforeMigrate ?? false;
    this.cipher = opts.cipher ?? (path === ":memory:" ? SecretCipher.ephemeral() : null);
  }

  /** Opens the file (created when missing), sets the pragmas and applies pending migrations. */
  open(): void {
    if (this.#conn) return;
    const conn = new Database(this.path);
    try {
      // WAL: readers never block the writer and a crash mid-write cannot corrupt the main file.
      if (this.path !== ":memory:") conn.exec("PRAGMA journal_mode = WAL");
      // SQLite ships with foreign keys off; cascades and references depend on them.
      conn.exec("PRAGMA foreign_keys = ON");
      // Another connection (a second process, a backup) holding the write lock makes us wait, not fail.
      conn.exec("PRAGMA busy_timeout = 5000");
      // FULL fsyncs the WAL at every commit, so an acknowledged write survives a power loss (NORMAL may lose the last ones).
      conn.exec("PRAGMA synchronous = FULL");
      // Temporary b-trees (sorts, window counts) stay in memory instead of touching the disk.
      conn.exec("PRAGMA temp_store = MEMORY");
      // A pragma can be refused without an error; the durability claim is checked, not assumed (F02, F05).
      const durability = durabilityOf(conn);
      assertDurable(durability, this.path);
      this.sqliteVersion = durability.sqlite_version;
      this.logger.info(durability, "sqlite durability checked");
      this.#migrate(conn);
    } catch (err) {
      conn.close();
      throw err;
    }
    this.#conn = conn;
    if (!this.cipher) return;
    try {
      const sealed = this.write((tx) => prepareSecrets(tx));
      if (sealed) this.logger.info(sealed, "variable values encrypted at rest");
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    this.#stmts.clear();
    this.#conn?.close();
    this.#conn = null;
  }

  /** Online backup (better-sqlite3's page-by-page copy): consistent while writers keep working. */
  async backup(file: string): Promise<void> {
    await this.#connection().backup(file);
  }

  /** Names of the applied migrations, in order. */
  migrations(): string[] {
    return this.#connection()
      .prepare("SELECT name FROM _migrations ORDER BY name")
      .all()
      .map((r) => (r as { name: string }).name);
  }

  /**
   * Applies the pending migrations in one transaction: an upgrade either completes or leaves the
   * database at the schema the previous version runs on. A database migrated by a newer version is
   * refused rather than run with a schema this code does not know.
   */
  #migrate(conn: Database.Database): void {
    conn.exec("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)");
    const applied = conn
      .prepare("SELECT name FROM _migrations ORDER BY name")
      .all()
      .map((r) => (r as { name: string }).name);
    const files = knownMigrations(this.#migrationsDir);
    const current = applied.at(-1) ?? "none";
    const unknown = applied.filter((m) => !files.includes(m));
    if (unknown.length > 0)
      throw deploykit.errorf(
        deploykit.EINTERNAL,
        `The database ${this.path} is at schema ${current}, newer than this deploykitd knows (${files.at(-1) ?? "none"}): ` +
          "it was migrated by a newer DeployKit. Run that version, or restore a backup made before that upgrade with this one.",
      );
    const pending = files.filter((f) => !applied.includes(f));
    if (pending.length === 0) return;
    if (this.#backupBeforeMigrate && applied.length > 0 && this.path !== ":memory:") {
      this.preMigrationBackup = backupBeforeMigration(conn, this.path, this.now());
      this.logger.info({ backup: this.preMigrationBackup, from: current, migrations: pending }, "database copied before migrating");
    }
    // DDL is transactional in SQLite: a failure (or a crash) leaves the previous schema untouched.
    conn.exec("BEGIN IMMEDIATE");
    let file = "";
    try {
      const record = conn.prepare("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)");
      const at = this.now().toISOString();
      for (file of pending) {
        conn.exec(readFileSync(`${this.#migrationsDir}/${file}`, "utf8"));
        record.run(file, at);
      }
      conn.exec("COMMIT");
    } catch (err) {
      if (conn.inTransaction) conn.exec("ROLLBACK");
      const rollback = this.preMigrationBackup
        ? ` To roll back, run the previous DeployKit version; the copy taken just before this attempt is ${this.preMigrationBackup}.`
        : "";
      throw new deploykit.DeployKitError(
        deploykit.EINTERNAL,
        `Migration ${file} failed: ${(err as Error).message}. The database is unchanged, still at schema ${current} ` +
          `(none of ${pending.join(", ")} was applied).${rollback}`,
        { cause: err },
      );
    }
    for (const m of pending) this.logger.info({ migration: m }, "migration applied");
  }

  #connection(): Database.Database {
    if (!this.#conn) throw deploykit.errorf(deploykit.EINTERNAL, "Database is not open.");
    return this.#conn;
  }

  #prepare(sql: string): Database.Statement {
    let stmt = this.#stmts.get(sql);
    if (!stmt) {
      stmt = this.#connection().prepare(sql);
      this.#stmts.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn` in a write transaction (BEGIN IMMEDIATE takes the write lock up front, so no upgrade deadlock). */
  write<T>(fn: (tx: Tx) => T): T {
    return this.#transact("BEGIN IMMEDIATE", fn);
  }

  /** Runs `fn` in a read transaction: one consistent snapshot for a count and its page. */
  read<T>(fn: (tx: Tx) => T): T {
    return this.#transact("BEGIN", fn);
  }

  #transact<T>(begin: string, fn: (tx: Tx) => T): T {
    const conn = this.#connection();
    if (conn.inTransaction) throw deploykit.errorf(deploykit.EINTERNAL, "Nested transaction.");
    const nowDate = this.now();
    const after: (() => void)[] = [];
    const cipher = this.cipher;
    const tx: Tx = {
      now: nowDate.toISOString(),
      nowDate,
      get: <R>(sql: string, ...params: Param[]) => this.#prepare(sql).get(...params) as R | undefined,
      all: <R>(sql: string, ...params: Param[]) => this.#prepare(sql).all(...params) as R[],
      run: (sql: string, ...params: Param[]) => ({ changes: this.#prepare(sql).run(...params).changes }),
      afterCommit: (f) => after.push(f),
      get cipher(): SecretCipher {
        if (!cipher)
          throw deploykit.errorf(
            deploykit.EINTERNAL,
            "The database was opened without the secret key; variable values cannot be read or written.",
          );
        return cipher;
      },
    };
    let result: T;
    try {
      conn.exec(begin);
      result = fn(tx);
      conn.exec("COMMIT");
    } catch (err) {
      if (conn.inTransaction) conn.exec("ROLLBACK");
      throw translateError(err);
    }
    for (const f of after) {
      try {
        f();
      } catch (err) {
        this.logger.error({ err }, "after-commit hook failed");
      }
    }
    return result;
  }

  /** Publishes after commit when a bus is configured. */
  publish(tx: Tx, event: deploykit.Event): void {
    const bus = this.bus;
    if (bus) tx.afterCommit(() => bus.publish(event));
  }
}

function sqliteCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

export function isUniqueError(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** Constraint failures become ECONFLICT; a lock held too long or a full disk becomes EUNAVAILABLE; domain errors pass. */
export function translateError(err: unknown): unknown {
  if (deploykit.isDeployKitError(err)) return err;
  const code = sqliteCode(err);
  if (isUniqueError(err))
    return new deploykit.DeployKitError(deploykit.ECONFLICT, "A record with the same unique value already exists.", { cause: err });
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY")
    return new deploykit.DeployKitError(deploykit.ECONFLICT, "A referenced record does not exist or is still referenced.", { cause: err });
  if (code.startsWith("SQLITE_CONSTRAINT"))
    return new deploykit.DeployKitError(deploykit.ECONFLICT, "The change violates a database constraint.", { cause: err });
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED")
    return new deploykit.DeployKitError(deploykit.EUNAVAILABLE, "The database is busy; try again.", { cause: err });
  // ENOSPC: the transaction rolled back and nothing is corrupted; writes work again once space is freed.
  if (code === "SQLITE_FULL")
    return new deploykit.DeployKitError(deploykit.EUNAVAILABLE, "The database disk is full; free some space and try again.", {
      cause: err,
    });
  return err;
}

export function newID(): string {
  return randomUUID();
}

export function toJSON(v: unknown): string {
  return JSON.stringify(v);
}

export function fromJSON<T>(s: string | null | undefined, fallback: T): T {
  if (s === null || s === undefined || s === "") return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

/** `LIKE %x%` with the wildcards in `x` escaped. */
export function likeContains(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `WHERE …` from conditions (empty when none). */
export function where(conds: string[]): string {
  return conds.length > 0 ? `WHERE ${conds.join(" AND ")}` : "";
}

/** A page of rows plus the total matching the conditions, both from one snapshot. */
export function queryPage<R>(
  tx: Tx,
  q: { select: string; from: string; countFrom?: string; conds: string[]; params: Param[]; order: string; page: deploykit.Page },
): { rows: R[]; total: number } {
  const { offset, limit } = deploykit.normalizePage(q.page);
  const w = where(q.conds);
  const rows = tx.all<R>(`SELECT ${q.select} FROM ${q.from} ${w} ORDER BY ${q.order} LIMIT ? OFFSET ?`, ...q.params, limit, offset);
  // A page that is not full ends the result, so it tells the total without a COUNT.
  const complete = rows.length < limit && (rows.length > 0 || offset === 0);
  const total = complete
    ? offset + rows.length
    : (tx.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${q.countFrom ?? q.from} ${w}`, ...q.params)?.n ?? 0);
  return { rows, total };
}
