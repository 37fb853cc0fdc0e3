import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as sqlite from "../../sqlite/index.ts";
import { mustCreateProject } from "../../sqlite/testing.ts";
import { DaemonProcess } from "./testing.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-upgrade-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("upgrading deploykitd", () => {
  it("migrates a database made by the previous schema version, after copying it next to itself", async () => {
    const all = sqlite.knownMigrations();
    const previous = all.slice(0, -1);
    const prevDir = join(dir, "previous-migrations");
    mkdirSync(prevDir);
    const here = fileURLToPath(new URL("../../sqlite/migrations/", import.meta.url));
    for (const m of previous) copyFileSync(join(here, m), join(prevDir, m));
    const data = join(dir, "data");
    mkdirSync(data);
    const dbPath = join(data, "deploykit.db");
    const old = new sqlite.DB(dbPath, { migrationsDir: prevDir });
    old.open();
    await mustCreateProject(old, "Made by the previous version");
    old.close();

    const d = await DaemonProcess.start(["-data-dir", data], dir);
    expect((await d.kill("SIGTERM")).code).toBe(0);
    expect(d.output).toContain('"msg":"database copied before migrating"');

    expect(sqlite.inspect(dbPath).migrations).toEqual(all);
    const copies = sqlite.preMigrationBackups(dbPath);
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatch(/deploykit\.db\.\d{8}T\d{6}Z\.before-migration$/);
    const copy = sqlite.inspect(copies[0] as string);
    expect(copy.migrations).toEqual(previous);
    expect(copy.rows.find((r) => r.table === "projects")?.count).toBe(1);

    // Already current: the next start copies nothing.
    const again = await DaemonProcess.start(["-data-dir", data], dir);
    await again.kill("SIGTERM");
    expect(again.output).not.toContain("database copied before migrating");
    expect(sqlite.preMigrationBackups(dbPath)).toHaveLength(1);
  });

  it("a failed migration leaves the database at its schema, and the daemon says how to roll back", async () => {
    const all = sqlite.knownMigrations();
    const here = fileURLToPath(new URL("../../sqlite/migrations/", import.meta.url));
    const next = join(dir, "next-migrations");
    mkdirSync(next);
    for (const m of all) copyFileSync(join(here, m), join(next, m));
    writeFileSync(join(next, "99998_fine.sql"), "CREATE TABLE upgrade_probe (id TEXT);");
    writeFileSync(join(next, "99999_broken.sql"), "ALTER TABLE no_such_table ADD COLUMN x TEXT;");
    const data = join(dir, "data");
    mkdirSync(data);
    const dbPath = join(data, "deploykit.db");
    const current = new sqlite.DB(dbPath);
    current.open();
    await mustCreateProject(current, "Before the upgrade");
    current.close();

    const d = DaemonProcess.spawn(["-data-dir", data], dir, { DEPLOYKIT_TEST_MIGRATIONS_DIR: next });
    expect((await d.exited).code).toBe(1);
    const copy = sqlite.preMigrationBackups(dbPath)[0] as string;
    expect(copy).toMatch(/\.before-migration$/);
    expect(d.output).toContain(
      `deploykitd: startup failed: Migration 99999_broken.sql failed: no such table: no_such_table. ` +
        `The database is unchanged, still at schema ${all.at(-1)} (none of 99998_fine.sql, 99999_broken.sql was applied). ` +
        `To roll back, run the previous DeployKit version; the copy taken just before this attempt is ${copy}.`,
    );
    const after = sqlite.inspect(dbPath);
    expect(after.migrations).toEqual(all);
    expect(after.rows.find((r) => r.table === "projects")?.count).toBe(1);
    // The version that knows this schema still starts on it.
    const previous = await DaemonProcess.start(["-data-dir", data], dir);
    expect((await previous.kill("SIGTERM")).code).toBe(0);
  });
});
