import { createHash } from "node:crypto";
import {
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as sqlite from "../../sqlite/index.ts";
import { mustCreateProject, mustCreateService } from "../../sqlite/testing.ts";
import { DaemonProcess, runDeploykitd } from "./testing.ts";

let dir: string;
const running: DaemonProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-restore-cmd-"));
});
afterEach(async () => {
  for (const d of running.splice(0)) await d.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** A database file with a project and the named services, at `migrations` (default: all of them). */
async function mustCreateDB(path: string, project: string, services: string[], migrationsDir?: string): Promise<void> {
  const db = new sqlite.DB(path, migrationsDir ? { migrationsDir } : {});
  db.open();
  const p = await mustCreateProject(db, project);
  for (const name of services) await mustCreateService(db, p.id, { name });
  await new sqlite.SettingsService(db).instanceID();
  db.close();
}

function names(path: string): { projects: string[]; services: string[] } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      projects: db
        .prepare("SELECT name FROM projects ORDER BY name")
        .all()
        .map((r) => (r as { name: string }).name),
      services: db
        .prepare("SELECT name FROM services ORDER BY name")
        .all()
        .map((r) => (r as { name: string }).name),
    };
  } finally {
    db.close();
  }
}

function sha(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe("deploykitd restore", () => {
  it("restores into a fresh data directory (created 0700), as a 0600 file, and leaves the backup untouched", async () => {
    const backup = join(dir, "backup.db");
    await mustCreateDB(backup, "Shop", ["web", "worker"]);
    const before = sha(backup);
    const data = join(dir, "data");
    const r = runDeploykitd(["restore", "-data-dir", data, backup], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`deploykitd: restored ${backup} into ${join(data, "deploykit.db")}`);
    expect(r.stdout).toContain("verified: integrity_check ok; schema");
    expect(r.stdout).not.toContain("migrated forward");
    expect(r.stdout).toContain("rows: projects 1, services 2,");
    expect(r.stdout).toContain("there was no database to replace");
    expect(r.stdout).toContain("removes this instance's containers that the backup no longer has");
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(join(data, "deploykit.db")).mode & 0o777).toBe(0o600);
    expect(names(join(data, "deploykit.db"))).toEqual({ projects: ["Shop"], services: ["web", "worker"] });
    expect(readdirSync(data).sort()).toEqual(["deploykit.db", "deploykitd.lock"]);
    expect(sha(backup)).toBe(before);
  });

  it("keeps the replaced database, -wal content included, as <db>.<time>.before-restore", async () => {
    const backup = join(dir, "backup.db");
    await mustCreateDB(backup, "From backup", ["web"]);
    const data = join(dir, "data");
    mkdirSync(data);
    // The replaced database as a killed daemon leaves it: its last writes only in the -wal.
    const live = join(dir, "live.db");
    await mustCreateDB(live, "Current", ["api"]);
    const conn = new Database(live);
    conn.pragma("wal_autocheckpoint = 0");
    conn.prepare("UPDATE projects SET name = 'Current, last write'").run();
    copyFileSync(live, join(data, "deploykit.db"));
    copyFileSync(`${live}-wal`, join(data, "deploykit.db-wal"));
    conn.close();

    const r = runDeploykitd(["restore", backup], { cwd: dir, env: { DEPLOYKIT_DB: join(data, "deploykit.db") } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const kept = readdirSync(data).filter((f) => f.endsWith(".before-restore"));
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(/^deploykit\.db\.\d{8}T\d{6}Z\.before-restore$/);
    expect(r.stdout).toContain(`the replaced database is kept as ${join(data, kept[0] as string)}`);
    // Folded into one file: no -wal beside the kept copy or the restored database.
    expect(readdirSync(data).sort()).toEqual(["deploykit.db", kept[0], "deploykitd.lock"].sort());
    expect(names(join(data, kept[0] as string))).toEqual({ projects: ["Current, last write"], services: ["api"] });
    expect(names(join(data, "deploykit.db"))).toEqual({ projects: ["From backup"], services: ["web"] });
    expect(r.stdout).toMatch(/instance id: [0-9a-f]{16}\n/);
    expect(r.stdout).toMatch(/note: the replaced database belonged to another instance \([0-9a-f]{16}\)/);
  });

  it.runIf(process.getuid?.() === 0)("run as root, hands the restored database and the lock to the data directory's owner", async () => {
    const backup = join(dir, "backup.db");
    await mustCreateDB(backup, "Shop", ["web"]);
    const data = join(dir, "data");
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, 65534, 65534);
    const r = runDeploykitd(["restore", "-data-dir", data, backup], { cwd: dir });
    expect(r.stderr).toBe("");
    for (const f of ["deploykit.db", "deploykitd.lock"]) expect(statSync(join(data, f))).toMatchObject({ uid: 65534, gid: 65534 });
  });

  it("refuses while a daemon runs on the data directory, and changes nothing", async () => {
    const data = join(dir, "data");
    const daemon = await DaemonProcess.start(["-data-dir", data], dir);
    running.push(daemon);
    const backup = join(dir, "backup.db");
    await mustCreateDB(backup, "Shop", ["web"]);
    const r = runDeploykitd(["restore", "-data-dir", data, backup], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`deploykitd: restore failed: The data directory ${data} is in use by deploykitd daemon (pid ${daemon.pid}`);
    expect(r.stderr).toContain("stop the other one first");
    expect(readdirSync(data).filter((f) => f.includes("before-restore") || f.includes(".restore-"))).toEqual([]);
    expect(names(join(data, "deploykit.db")).projects).toEqual([]);
  });

  it("migrates a backup made at an older schema forward", async () => {
    const v1 = join(dir, "v1");
    mkdirSync(v1);
    const all = sqlite.knownMigrations();
    const first = all[0] as string;
    copyFileSync(join(fileURLToPath(new URL("../../sqlite/migrations/", import.meta.url)), first), join(v1, first));
    const backup = join(dir, "old.db");
    // Only a project: today's service code writes columns the first schema does not have.
    await mustCreateDB(backup, "Old", [], v1);
    const data = join(dir, "data");
    const r = runDeploykitd(["restore", "-data-dir", data, backup], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`(the backup was at ${first}; migrated forward: ${all.slice(1).join(", ")})`);
    expect(sqlite.inspect(join(data, "deploykit.db")).migrations).toEqual(all);
    expect(names(join(data, "deploykit.db"))).toEqual({ projects: ["Old"], services: [] });
  });

  it("refuses a backup made by a newer schema", async () => {
    const backup = join(dir, "new.db");
    await mustCreateDB(backup, "New", []);
    const raw = new Database(backup);
    raw.prepare("INSERT INTO _migrations (name, applied_at) VALUES ('99999_future.sql', 'now')").run();
    raw.close();
    const data = join(dir, "data");
    const r = runDeploykitd(["restore", "-data-dir", data, backup], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("was made by a newer DeployKit (schema 99999_future.sql)");
    expect(existsSync(join(data, "deploykit.db"))).toBe(false);
  });

  it("refuses a backup that fails integrity_check, keeping the current database", async () => {
    const backup = join(dir, "bad.db");
    await mustCreateDB(backup, "Bad", []);
    const raw = new Database(backup);
    raw.exec("CREATE TABLE junk (k TEXT); CREATE INDEX junk_k ON junk(k);");
    const ins = raw.prepare("INSERT INTO junk VALUES (?)");
    for (let i = 0; i < 3000; i++) ins.run(`value-${i}-${"x".repeat(40)}`);
    raw.pragma("journal_mode = DELETE");
    raw.close();
    // Scribble over the second half of the file (the index pages, written last).
    const size = statSync(backup).size;
    const fd = openSync(backup, "r+");
    for (let off = Math.floor(size * 0.6); off < size - 4096; off += 4096) writeSync(fd, Buffer.alloc(200, 0x5a), 0, 200, off + 100);
    const data = join(dir, "data");
    mkdirSync(data);
    await mustCreateDB(join(data, "deploykit.db"), "Current", ["api"]);
    const r = runDeploykitd(["restore", "-data-dir", data, backup], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/restore failed: The backup .*bad\.db (fails integrity_check|is not a DeployKit database)/);
    expect(r.stderr).toContain("nothing was restored");
    expect(readdirSync(data).sort()).toEqual(["deploykit.db", "deploykitd.lock"]);
    expect(names(join(data, "deploykit.db"))).toEqual({ projects: ["Current"], services: ["api"] });
  });

  it.each([
    ["a missing file", null, "The backup {src} does not exist."],
    ["a text file", "not a database\n".repeat(200), "is not a DeployKit database"],
    ["a SQLite file that is not DeployKit's", "sqlite", "is a SQLite file but not a DeployKit database"],
  ])("refuses %s", (_name, content, message) => {
    const src = join(dir, "in.db");
    if (content === "sqlite") new Database(src).exec("CREATE TABLE t (x)").close();
    else if (content !== null) writeFileSync(src, content);
    const data = join(dir, "data");
    const r = runDeploykitd(["restore", "-data-dir", data, src], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message.replace("{src}", src));
    expect(existsSync(join(data, "deploykit.db"))).toBe(false);
  });

  it("needs exactly one file argument", () => {
    const r = runDeploykitd(["restore"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("usage: deploykitd restore <file>");
  });
});
