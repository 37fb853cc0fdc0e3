import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
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
});
