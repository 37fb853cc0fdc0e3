import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inspect } from "./backup.ts";
import type { DB } from "./db.ts";
import { backupDirectory, ScheduledBackups, scheduledBackups } from "./scheduled-backup.ts";
import { SettingsService } from "./settings.ts";
import { FakeClock, mustCreateProject, mustOpenDB } from "./testing.ts";

const HOUR = 3_600_000;

describe("scheduled backups", () => {
  let dir: string;
  let db: DB;
  let settings: SettingsService;
  let clock: FakeClock;
  let backups: ScheduledBackups;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "dk-scheduled-backup-"));
    db = mustOpenDB({ path: join(dir, "deploykit.db") });
    settings = new SettingsService(db);
    clock = new FakeClock("2026-12-04T03:00:00.000Z");
    backups = new ScheduledBackups({ dbPath: db.path, dataDir: dir, settings, now: clock.now });
    await mustCreateProject(db, "Shop");
  });

  afterEach(async () => {
    await backups.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("are on by default: a verified 0600 copy in <data-dir>/backups, then nothing until an interval has passed", async () => {
    const first = await backups.tick();
    expect(first).toMatchObject({ ok: true, path: join(dir, "backups", "deploykit-20261204T030000Z.db") });
    const path = first?.path ?? "";
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const rep = inspect(path);
    expect(rep.integrity).toBe("ok");
    expect(rep.rows.find((r) => r.table === "projects")?.count).toBe(1);
    expect(first?.rows?.find((r) => r.table === "projects")?.count).toBe(1);

    clock.advance(23 * HOUR);
    expect(await backups.tick()).toBeNull();
    clock.advance(HOUR);
    expect((await backups.tick())?.ok).toBe(true);
    expect(scheduledBackups(join(dir, "backups"))).toHaveLength(2);

    const st = await backups.status();
    expect(st).toMatchObject({ enabled: true, interval_hours: 24, retention: 7, kept: 2, last_success_at: "2026-12-05T03:00:00.000Z" });
    expect(st.next_at).toBe("2026-12-06T03:00:00.000Z");
    expect(st.warning).toBeUndefined();
  });

  it("keep the newest `backup_retention` and leave other files alone", async () => {
    await settings.updateSettings({ backup_retention: 2, backup_interval_hours: 1, backup_dir: "snapshots" });
    const target = join(dir, "snapshots");
    expect(backupDirectory(await settings.getSettings(), dir)).toBe(target);
    const results = [];
    for (let i = 0; i < 4; i++) {
      results.push(await backups.tick());
      clock.advance(HOUR);
    }
    writeFileSync(join(target, "notes.txt"), "mine");
    expect(results.every((r) => r?.ok)).toBe(true);
    expect(scheduledBackups(target).map((p) => p.slice(target.length + 1))).toEqual([
      "deploykit-20261204T050000Z.db",
      "deploykit-20261204T060000Z.db",
    ]);
    expect(existsSync(join(target, "notes.txt"))).toBe(true);
  });

  it("report a failure as a warning, not only a log line, and clear it once one succeeds", async () => {
    writeFileSync(join(dir, "not-a-dir"), "x");
    await settings.updateSettings({ backup_dir: join(dir, "not-a-dir") });
    const r = await backups.tick();
    expect(r?.ok).toBe(false);
    expect(r?.error).toMatch(/EEXIST|ENOTDIR|not a directory|exists/i);
    const st = await backups.status();
    expect(st.warning).toMatch(/^The last scheduled backup failed: /);

    await settings.updateSettings({ backup_dir: "" });
    expect((await backups.runNow()).ok).toBe(true);
    expect((await backups.status()).warning).toBeUndefined();
  });

  it("warn when no backup has succeeded for two intervals (found from the files after a restart)", async () => {
    expect((await backups.tick())?.ok).toBe(true);
    const restarted = new ScheduledBackups({ dbPath: db.path, dataDir: dir, settings, now: () => new Date(Date.now() + 49 * HOUR) });
    expect((await restarted.status()).warning).toMatch(/^No scheduled backup has succeeded since /);
  });

  it("do nothing when off, and refuse bad settings with the field", async () => {
    await settings.updateSettings({ backup_enabled: false });
    expect(await backups.tick()).toBeNull();
    expect((await backups.status()).enabled).toBe(false);
    expect(scheduledBackups(join(dir, "backups"))).toEqual([]);
    await expect(settings.updateSettings({ backup_interval_hours: 0 })).rejects.toMatchObject({
      code: "invalid",
      fields: { backup_interval_hours: [expect.any(String)] },
    });
    await expect(settings.updateSettings({ backup_retention: 1.5 })).rejects.toMatchObject({
      code: "invalid",
      fields: { backup_retention: [expect.any(String)] },
    });
    await expect(settings.updateSettings({ backup_dir: "a\u0000b" })).rejects.toMatchObject({
      code: "invalid",
      fields: { backup_dir: [expect.any(String)] },
    });
  });

  it("never back up an in-memory database", async () => {
    const mem = mustOpenDB();
    const b = new ScheduledBackups({ dbPath: ":memory:", dataDir: dir, settings: new SettingsService(mem), now: clock.now });
    expect(await b.tick()).toBeNull();
    expect((await b.status()).enabled).toBe(false);
    mem.close();
  });
});
