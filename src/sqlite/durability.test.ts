import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { DB } from "./db.ts";
import { assertDurable, durabilityOf, walResetBugAffected } from "./durability.ts";

// F02/F05: the durability claim (WAL + synchronous=FULL, a SQLite without the WAL-reset bug) is
// checked on every open, not assumed.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-durable-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("walResetBugAffected (3.7.0 to 3.51.2, fixed in 3.51.3, backported to 3.50.7 and 3.44.6)", () => {
  it.each([
    ["3.6.23", false],
    ["3.7.0", true],
    ["3.44.5", true],
    ["3.44.6", false],
    ["3.45.0", true],
    ["3.50.6", true],
    ["3.50.7", false],
    ["3.51.0", true],
    ["3.51.2", true],
    ["3.51.3", false],
    ["3.52.0", false],
    ["3.54.1", false],
    ["4.0.0", false],
    ["garbage", true],
  ])("%s → %s", (v, affected) => expect(walResetBugAffected(v)).toBe(affected));
});

describe("assertDurable", () => {
  const ok = { sqlite_version: "3.51.3", journal_mode: "wal", synchronous: 2 };

  it.each([
    [{ ...ok }, null],
    [{ ...ok, synchronous: 3 }, null],
    [{ ...ok, synchronous: 1 }, "The database runs with synchronous=1, not FULL (2): an acknowledged write could be lost to a power cut."],
    [{ ...ok, journal_mode: "delete" }, "The database /d/x.db is in journal mode delete, not WAL (is it on a network filesystem?)."],
    [
      { ...ok, sqlite_version: "3.51.2" },
      "SQLite 3.51.2 (bundled with better-sqlite3) has the WAL-reset bug that can corrupt the database (3.7.0 to 3.51.2; fixed in 3.51.3, 3.50.7 and 3.44.6); upgrade better-sqlite3.",
    ],
  ])("%j", (d, message) => {
    if (message === null) expect(() => assertDurable(d, "/d/x.db")).not.toThrow();
    else expect(() => assertDurable(d, "/d/x.db")).toThrow(message);
  });

  it("reads what a real connection has, and refuses NORMAL and a rollback journal", () => {
    const conn = new Database(join(dir, "raw.db"));
    try {
      conn.exec("PRAGMA synchronous = NORMAL");
      const d = durabilityOf(conn);
      expect(d).toMatchObject({ journal_mode: "delete", synchronous: 1 });
      expect(d.sqlite_version).toMatch(/^3\.\d+\.\d+$/);
      expect(() => assertDurable(d, "raw.db")).toThrow(deploykit.DeployKitError);
    } finally {
      conn.close();
    }
  });
});

describe("DB.open checks and logs durability", () => {
  it("opens a file database in WAL with synchronous=FULL and logs the bundled SQLite version", () => {
    const logged: unknown[] = [];
    const logger = { ...deploykit.nopLogger, info: (obj: object | string, msg?: string) => void logged.push([obj, msg]) };
    const db = new DB(join(dir, "a.db"), { logger });
    db.open();
    try {
      const mem = new Database(":memory:");
      const version = (mem.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;
      mem.close();
      expect(db.sqliteVersion).toBe(version);
      expect(walResetBugAffected(version)).toBe(false);
      expect(logged).toContainEqual([{ sqlite_version: version, journal_mode: "wal", synchronous: 2 }, "sqlite durability checked"]);
    } finally {
      db.close();
    }
  });
});
