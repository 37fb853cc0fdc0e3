import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { DataDirLock, LOCK_FILE } from "./lock.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-lock-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("DataDirLock", () => {
  it("admits one holder at a time and names it to the others", () => {
    const a = DataDirLock.acquire(dir, "daemon");
    expect(a.stale).toBeNull();
    expect(statSync(join(dir, LOCK_FILE)).mode & 0o777).toBe(0o600);
    expect(DataDirLock.holder(dir)).toMatchObject({ pid: process.pid, command: "daemon" });
    let err: unknown;
    try {
      DataDirLock.acquire(dir, "restore");
    } catch (e) {
      err = e;
    }
    expect(deploykit.errorCode(err)).toBe(deploykit.ECONFLICT);
    expect(deploykit.errorMessage(err)).toMatch(
      new RegExp(
        `^The data directory ${dir} is in use by deploykitd daemon \\(pid ${process.pid} on .*, started .*\\): ${dir}/deploykitd.lock is locked\\.`,
      ),
    );
    a.release();
    a.release();
    expect(DataDirLock.holder(dir)).toBeNull();
    const b = DataDirLock.acquire(dir, "restore");
    expect(b.stale).toBeNull();
    b.release();
  });

  it("refuses a data directory that does not exist", () => {
    expect(() => DataDirLock.acquire(join(dir, "nope"), "daemon")).toThrow(/does not exist/);
  });

  it("takes over the lock of a holder that was SIGKILLed, and reports it", async () => {
    const url = new URL("./lock.ts", import.meta.url).href;
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { DataDirLock } = await import(${JSON.stringify(url)}); globalThis.held = DataDirLock.acquire(${JSON.stringify(dir)}, "daemon"); console.log("held"); setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"], cwd: fileURLToPath(new URL(".", import.meta.url)) },
    );
    await new Promise<void>((res, rej) => {
      child.stdout.on("data", (b: Buffer) => b.toString().includes("held") && res());
      child.once("exit", (code) => rej(new Error(`child exited ${code}`)));
    });
    expect(DataDirLock.holder(dir)?.pid).toBe(child.pid);
    expect(() => DataDirLock.acquire(dir, "daemon")).toThrow(new RegExp(`in use by deploykitd daemon \\(pid ${child.pid}`));
    const exited = new Promise((res) => child.once("exit", res));
    child.kill("SIGKILL");
    await exited;
    expect(DataDirLock.holder(dir)).toBeNull();
    const lock = DataDirLock.acquire(dir, "daemon");
    expect(lock.stale).toMatchObject({ pid: child.pid, command: "daemon" });
    lock.release();
  });
});
