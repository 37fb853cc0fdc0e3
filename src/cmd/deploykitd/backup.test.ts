import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as sqlite from "../../sqlite/index.ts";
import { mustCreateProject, mustCreateService } from "../../sqlite/testing.ts";
import { runDeploykitd } from "./testing.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-backup-cmd-"));
});
afterEach(() => {
  chmodSync(dir, 0o700);
  rmSync(dir, { recursive: true, force: true });
});

/** A daemon's data dir with a database holding one project and two services. */
async function mustCreateDataDir(name = "data"): Promise<{ dataDir: string; dbPath: string }> {
  const dataDir = join(dir, name);
  mkdirSync(dataDir);
  const dbPath = join(dataDir, "deploykit.db");
  const db = new sqlite.DB(dbPath);
  db.open();
  const p = await mustCreateProject(db, "Shop");
  await mustCreateService(db, p.id, { name: "web" });
  await mustCreateService(db, p.id, { name: "worker" });
  db.close();
  return { dataDir, dbPath };
}

describe("deploykitd backup", () => {
  it.each([
    ["-db", (d: { dbPath: string; dataDir: string }) => ({ args: ["-db", d.dbPath], env: {} })],
    ["--db=", (d: { dbPath: string; dataDir: string }) => ({ args: [`--db=${d.dbPath}`], env: {} })],
    ["-data-dir", (d: { dbPath: string; dataDir: string }) => ({ args: ["-data-dir", d.dataDir], env: {} })],
    ["DEPLOYKIT_DB", (d: { dbPath: string; dataDir: string }) => ({ args: [], env: { DEPLOYKIT_DB: d.dbPath } })],
    ["DEPLOYKIT_DATA_DIR", (d: { dbPath: string; dataDir: string }) => ({ args: [], env: { DEPLOYKIT_DATA_DIR: d.dataDir } })],
  ])("finds the database through %s, writes a verified 0600 copy and prints what it holds", async (_name, how) => {
    const d = await mustCreateDataDir();
    const { args, env } = how(d);
    const dest = join(dir, "out.db");
    const r = runDeploykitd(["backup", ...args, dest], { cwd: dir, env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`backed up ${d.dbPath} to ${dest}`);
    expect(r.stdout).toMatch(/integrity_check ok; schema \d{5}_\S+\.sql \(\d+ migrations\)/);
    expect(r.stdout).toContain("rows: projects 1, services 2, deployments 0, containers 0, env_vars 0, users 0");
    expect(r.stdout).toContain("variables in this copy are not encrypted yet");
    expect(statSync(dest).mode & 0o777).toBe(0o600);
    // A single self-contained file: no -wal or temporary file left beside it.
    expect(readdirSync(dir).sort()).toEqual(["data", "out.db"]);
    const copy = new Database(dest, { readonly: true });
    expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(copy.prepare("SELECT name FROM services ORDER BY name").all()).toEqual([{ name: "web" }, { name: "worker" }]);
    copy.close();
  });

  it("refuses when the database does not exist, and creates nothing", () => {
    const dest = join(dir, "out.db");
    const r = runDeploykitd(["backup", dest], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`deploykitd: backup failed: The database ${join(dir, "deploykit.db")} does not exist`);
    expect(r.stderr).toContain("path from the default, ./deploykit.db in the current directory");
    expect(r.stderr).toContain("Nothing was written.");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a -data-dir without a database, and creates nothing there", () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const r = runDeploykitd(["backup", "-data-dir", empty, join(dir, "out.db")], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`The database ${join(empty, "deploykit.db")} does not exist (path from -data-dir / DEPLOYKIT_DATA_DIR)`);
    expect(readdirSync(dir)).toEqual(["empty"]);
    expect(readdirSync(empty)).toEqual([]);
  });

  it("refuses an existing destination, which covers backing the database up onto itself", async () => {
    const d = await mustCreateDataDir();
    const before = statSync(d.dbPath).size;
    for (const dest of [d.dbPath, join(d.dataDir, "other.db")]) {
      if (dest !== d.dbPath) writeFileSync(dest, "keep me");
      const r = runDeploykitd(["backup", "-db", d.dbPath, dest], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${dest} already exists; choose another name or remove it first.`);
    }
    expect(statSync(d.dbPath).size).toBe(before);
    expect(sqlite.inspect(d.dbPath).rows.find((x) => x.table === "services")?.count).toBe(2);
  });

  it.each([
    ["an empty file", ""],
    ["a text file", "hello, I am not a database\n".repeat(100)],
  ])("refuses %s given as -db", (_name, content) => {
    const src = join(dir, "x.db");
    writeFileSync(src, content);
    const r = runDeploykitd(["backup", "-db", src, join(dir, "out.db")], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a DeployKit database/);
    expect(existsSync(join(dir, "out.db"))).toBe(false);
  });

  it("refuses a SQLite file that is not DeployKit's", () => {
    const src = join(dir, "other.db");
    const raw = new Database(src);
    raw.exec("CREATE TABLE t (x)");
    raw.close();
    const r = runDeploykitd(["backup", "-db", src, join(dir, "out.db")], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is a SQLite file but not a DeployKit database");
  });

  it("refuses a destination directory that does not exist", async () => {
    const d = await mustCreateDataDir();
    const r = runDeploykitd(["backup", "-db", d.dbPath, join(dir, "nope", "out.db")], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`The directory ${join(dir, "nope")} does not exist.`);
  });

  it("needs exactly one file argument", () => {
    const r = runDeploykitd(["backup"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("usage: deploykitd backup <file>");
  });
});
