import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { DB, translateError } from "./db.ts";
import { ProjectService } from "./project.ts";
import { expectError, FakeClock, mustCreateProject, mustOpenDB } from "./testing.ts";
import { preMigrationBackups } from "./upgrade.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-db-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every migration the project ships, in order. */
const ALL_MIGRATIONS = [
  "00001_init.sql",
  "00002_list_indexes.sql",
  "00003_rollout_settings.sql",
  "00004_api_key_parent.sql",
  "00005_domains.sql",
  "00006_healthcheck.sql",
  "00007_ops.sql",
  "00008_shell.sql",
  "00009_builds.sql",
  "00011_shared_vars.sql",
  "00012_secrets.sql",
  "00013_metrics.sql",
  "00014_device_logins.sql",
  "00015_deployment_logs.sql",
  "00016_drain_seconds.sql",
];

describe("DB.open", () => {
  it("creates a fresh file and reopens it without reapplying migrations", async () => {
    const path = join(dir, "a.db");
    const db = mustOpenDB({ path });
    const p = await mustCreateProject(db, "Keep me");
    expect(db.migrations()).toEqual(ALL_MIGRATIONS);
    db.close();
    const again = mustOpenDB({ path });
    expect(again.migrations()).toEqual(ALL_MIGRATIONS);
    expect((await new ProjectService(again).findProjectByID(p.id)).name).toBe("Keep me");
    again.close();
  });

  it("upgrades an existing file by applying only the migrations it lacks", async () => {
    const v1 = join(dir, "v1");
    mkdirSync(v1);
    const here = fileURLToPath(new URL("./migrations/", import.meta.url));
    copyFileSync(join(here, "00001_init.sql"), join(v1, "00001_init.sql"));
    const path = join(dir, "old.db");
    const old = new DB(path, { migrationsDir: v1 });
    old.open();
    const p = await mustCreateProject(old, "From v1");
    old.close();
    const db = mustOpenDB({ path });
    expect(db.migrations()).toEqual(ALL_MIGRATIONS);
    expect((await new ProjectService(db).findProjectByID(p.id)).name).toBe("From v1");
    db.close();
  });

  it("sets the pragmas on a file database", () => {
    const path = join(dir, "p.db");
    const db = mustOpenDB({ path });
    db.close();
    const raw = new Database(path);
    expect(raw.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    raw.close();
    const db2 = mustOpenDB({ path });
    // The connection-level pragmas are observable through behaviour: a dangling reference is refused.
    expect(() =>
      db2.write((tx) =>
        tx.run("INSERT INTO services (id, project_id, name, created_at, updated_at) VALUES ('s', 'missing', 'x', 'now', 'now')"),
      ),
    ).toThrow(/referenced record/);
    db2.close();
  });

  it("applies pending migrations whole or not at all: a failure keeps the previous schema", () => {
    const migrations = join(dir, "migrations");
    const path = join(dir, "m.db");
    mkdirSync(migrations);
    writeFileSync(join(migrations, "00001_a.sql"), "CREATE TABLE a (id TEXT PRIMARY KEY);");
    const v1 = new DB(path, { migrationsDir: migrations });
    v1.open();
    v1.close();
    writeFileSync(join(migrations, "00002_b.sql"), "CREATE TABLE b (id TEXT); INSERT INTO a VALUES ('x');");
    writeFileSync(join(migrations, "00003_c.sql"), "CREATE TABLE c (id TEXT); THIS IS NOT SQL;");
    const db = new DB(path, { migrationsDir: migrations });
    expect(() => db.open()).toThrow(
      /^Migration 00003_c\.sql failed: near "THIS": syntax error\. The database is unchanged, still at schema 00001_a\.sql \(none of 00002_b\.sql, 00003_c\.sql was applied\)\.$/,
    );
    const raw = new Database(path);
    const tables = raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => (r as { name: string }).name);
    expect(tables).toEqual(["_migrations", "a"]);
    expect(raw.prepare("SELECT COUNT(*) AS n FROM a").get()).toEqual({ n: 0 });
    expect(raw.prepare("SELECT name FROM _migrations").all()).toEqual([{ name: "00001_a.sql" }]);
    raw.close();
    // Fixing the file lets the next start finish the job.
    writeFileSync(join(migrations, "00003_c.sql"), "CREATE TABLE c (id TEXT);");
    const fixed = new DB(path, { migrationsDir: migrations });
    fixed.open();
    expect(fixed.migrations()).toEqual(["00001_a.sql", "00002_b.sql", "00003_c.sql"]);
    fixed.close();
  });

  it("refuses a database migrated by a newer version", () => {
    const path = join(dir, "new.db");
    mustOpenDB({ path }).close();
    const raw = new Database(path);
    raw.prepare("INSERT INTO _migrations (name, applied_at) VALUES ('99999_future.sql', 'now')").run();
    raw.close();
    expect(() => mustOpenDB({ path })).toThrow(
      /is at schema 99999_future\.sql, newer than this deploykitd knows \(\d{5}_.*\.sql\): it was migrated by a newer DeployKit/,
    );
  });

  it("copies an existing database before migrating it, keeps the newest three copies and names one when a migration fails", async () => {
    const migrations = join(dir, "migrations");
    mkdirSync(migrations);
    const path = join(dir, "u.db");
    writeFileSync(join(migrations, "00001_a.sql"), "CREATE TABLE a (id TEXT PRIMARY KEY);");
    const clock = new FakeClock("2026-12-03T10:00:00.000Z");
    const open = () => {
      const db = new DB(path, { migrationsDir: migrations, backupBeforeMigrate: true, now: clock.now });
      db.open();
      return db;
    };
    // A fresh database has nothing to protect.
    const first = open();
    expect(first.preMigrationBackup).toBeNull();
    first.write((tx) => tx.run("INSERT INTO a VALUES ('row')"));
    first.close();
    const made: string[] = [];
    for (let i = 2; i <= 5; i++) {
      clock.advance(60_000);
      writeFileSync(join(migrations, `0000${i}_m.sql`), `CREATE TABLE t${i} (id TEXT);`);
      const db = open();
      expect(db.preMigrationBackup).toBe(`${path}.20261203T10${String(i - 1).padStart(2, "0")}00Z.before-migration`);
      made.push(db.preMigrationBackup as string);
      db.close();
      // The copy is the database as it was before this migration.
      const copy = new Database(made.at(-1) as string, { readonly: true });
      expect(copy.prepare("SELECT name FROM _migrations ORDER BY name").all()).toHaveLength(i - 1);
      expect(copy.prepare("SELECT id FROM a").all()).toEqual([{ id: "row" }]);
      copy.close();
      expect(statSync(made.at(-1) as string).mode & 0o777).toBe(0o600);
    }
    expect(preMigrationBackups(path)).toEqual(made.slice(-3));
    // Opening without pending migrations copies nothing.
    const same = open();
    expect(same.preMigrationBackup).toBeNull();
    same.close();

    clock.advance(60_000);
    writeFileSync(join(migrations, "00006_bad.sql"), "NOT SQL;");
    const db = new DB(path, { migrationsDir: migrations, backupBeforeMigrate: true, now: clock.now });
    expect(() => db.open()).toThrow(
      `To roll back, run the previous DeployKit version; the copy taken just before this attempt is ${path}.20261203T100500Z.before-migration.`,
    );
    expect(preMigrationBackups(path)).toEqual([...made.slice(-2), `${path}.20261203T100500Z.before-migration`]);
  });

  it("refuses work before open", async () => {
    const db = new DB(":memory:");
    await expectError(new ProjectService(db).findProjects({}), deploykit.EINTERNAL, "Database is not open.");
  });
});

describe("DB transactions", () => {
  it("gives every row of one transaction the same injected now", async () => {
    const clock = new FakeClock("2030-05-06T07:08:09.123Z");
    const db = mustOpenDB({ now: clock.now });
    const p = await mustCreateProject(db);
    expect(p.created_at).toBe("2030-05-06T07:08:09.123Z");
    expect(p.updated_at).toBe(p.created_at);
    clock.advance(1000);
    const u = await new ProjectService(db).updateProject(p.id, { name: "Renamed" });
    expect(u.updated_at).toBe("2030-05-06T07:08:10.123Z");
    expect(u.created_at).toBe(p.created_at);
  });

  it("rolls back everything when the function throws and runs no after-commit hook", () => {
    const db = mustOpenDB();
    let hooked = false;
    expect(() =>
      db.write((tx) => {
        tx.run("INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', ?)", tx.now);
        tx.afterCommit(() => {
          hooked = true;
        });
        throw deploykit.errorf(deploykit.EINVALID, "boom");
      }),
    ).toThrow("boom");
    expect(hooked).toBe(false);
    expect(db.read((tx) => tx.get("SELECT * FROM settings WHERE key = 'k'"))).toBeUndefined();
  });

  it("runs after-commit hooks after a successful commit", () => {
    const db = mustOpenDB();
    const seen: unknown[] = [];
    db.write((tx) => {
      tx.run("INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', ?)", tx.now);
      tx.afterCommit(() => seen.push(db.read((t) => t.get("SELECT value FROM settings WHERE key = 'k'"))));
    });
    expect(seen).toEqual([{ value: "v" }]);
  });

  it("refuses nested transactions", () => {
    const db = mustOpenDB();
    expect(() => db.write(() => db.write(() => 1))).toThrow("Nested transaction.");
  });

  it.each([
    ["SQLITE_CONSTRAINT_UNIQUE", deploykit.ECONFLICT, "A record with the same unique value already exists."],
    ["SQLITE_CONSTRAINT_PRIMARYKEY", deploykit.ECONFLICT, "A record with the same unique value already exists."],
    ["SQLITE_CONSTRAINT_FOREIGNKEY", deploykit.ECONFLICT, "A referenced record does not exist or is still referenced."],
    ["SQLITE_CONSTRAINT_CHECK", deploykit.ECONFLICT, "The change violates a database constraint."],
    ["SQLITE_BUSY", deploykit.EUNAVAILABLE, "The database is busy; try again."],
  ])("translates %s", (code, want, message) => {
    const err = Object.assign(new Error("raw"), { code });
    const got = translateError(err);
    expect(deploykit.errorCode(got)).toBe(want);
    expect(deploykit.errorMessage(got)).toBe(message);
  });

  it("passes other errors through", () => {
    const err = new Error("other");
    expect(translateError(err)).toBe(err);
  });

  it("translates a real unique violation", () => {
    const db = mustOpenDB();
    db.write((tx) => tx.run("INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', 'now')"));
    expect(() => db.write((tx) => tx.run("INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', 'now')"))).toThrow(
      "A record with the same unique value already exists.",
    );
  });
});

describe("DB.backup", () => {
  it("writes a consistent copy that opens", async () => {
    const db = mustOpenDB({ path: join(dir, "src.db") });
    const p = await mustCreateProject(db, "Backed up");
    const copy = join(dir, "copy.db");
    await db.backup(copy);
    db.close();
    expect(readdirSync(dir)).toContain("copy.db");
    const restored = mustOpenDB({ path: copy });
    expect((await new ProjectService(restored).findProjectByID(p.id)).name).toBe("Backed up");
    restored.close();
  });
});

describe("translateError on a full disk", () => {
  // Found by the fault suite (test/faults/disk-full.test.ts): SQLITE_FULL surfaced as 500 "Internal error.".
  it("turns SQLITE_FULL into EUNAVAILABLE with a message that says what to do", () => {
    const err = Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    const out = translateError(err);
    expect(deploykit.errorCode(out)).toBe(deploykit.EUNAVAILABLE);
    expect(deploykit.errorMessage(out)).toBe("The database disk is full; free some space and try again.");
  });
});
