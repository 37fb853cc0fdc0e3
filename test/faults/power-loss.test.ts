import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDataDir } from "../../src/sqlite/index.ts";
import { Daemon } from "../harness/daemon.ts";

// F02: acknowledged writes survive a power cut, not only a process kill. The daemon's data directory
// is a mount of test/harness/powercut.py, a FUSE file system that keeps every written byte in its
// own memory until the file is fsynced, and undoes every directory entry (create, rename, unlink)
// whose directory was not fsynced afterwards; killing it loses whatever was not, like a disk cache
// losing power. Each iteration sends a few concurrent writes, cuts the power the moment the first 2xx
// arrives (then SIGKILLs the daemon, which can no longer write anything), mounts the directory
// again, and checks: integrity_check is ok, every acknowledged project is there exactly once.
//
// Profiles: CI runs 20 iterations; DEPLOYKIT_POWERCUT_ITERATIONS=1000 runs the catalogue's loop.
// Needs root, /dev/fuse and Debian's python3-fusepy (.ci/run installs it); docker is not involved.

const ITERATIONS = Number(process.env.DEPLOYKIT_POWERCUT_ITERATIONS ?? 20);
const WRITES_PER_ITERATION = 4;
const LAYER = resolve(fileURLToPath(new URL("../harness/powercut.py", import.meta.url)));

/** One mount of the power-loss layer over `backing` at `mountpoint`. */
class PowerCutMount {
  #proc: ChildProcess | null = null;
  readonly backing: string;
  readonly mountpoint: string;

  constructor(backing: string, mountpoint: string) {
    this.backing = backing;
    this.mountpoint = mountpoint;
  }

  async mount(): Promise<void> {
    const proc = spawn("/usr/bin/python3", [LAYER, this.backing, this.mountpoint], { stdio: ["ignore", "pipe", "pipe"] });
    this.#proc = proc;
    let out = "";
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`powercut.py did not mount: ${out}`)), 15_000);
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes("ready")) {
          clearTimeout(timer);
          res();
        } else if (out.includes("not mounted")) {
          clearTimeout(timer);
          rej(new Error(`powercut.py did not mount: ${out}`));
        }
      };
      proc.stdout?.on("data", onData);
      proc.stderr?.on("data", onData);
      proc.once("exit", (code) => {
        clearTimeout(timer);
        rej(new Error(`powercut.py exited (${code}): ${out}`));
      });
    });
  }

  /** The power cut: the layer dies with every unsynced byte, then the mount point is released. */
  async cut(): Promise<void> {
    const proc = this.#proc;
    this.#proc = null;
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await exited;
    }
    execFileSync("umount", ["-l", this.mountpoint], { stdio: "ignore" });
  }

  stats(): { fsyncs: number; volatile_blocks: number; volatile_entries: number } {
    const text = readFileSync(join(this.mountpoint, ".powercut"), "utf8");
    return Object.fromEntries(
      text
        .trim()
        .split("\n")
        .map((l) => [l.split(" ")[0], Number(l.split(" ")[1])]),
    ) as {
      fsyncs: number;
      volatile_blocks: number;
      volatile_entries: number;
    };
  }
}

/** fsync of a directory: what makes the entries in it (created, renamed, removed) durable. */
function syncDir(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const root = mkdtempSync(join(tmpdir(), "dk-powercut-"));
const layer = new PowerCutMount(join(root, "disk"), join(root, "mnt"));
let d: Daemon;

beforeAll(async () => {
  mkdirSync(layer.backing);
  mkdirSync(layer.mountpoint);
  await layer.mount();
}, 30_000);

afterAll(async () => {
  await d?.kill().catch(() => {});
  await layer.cut().catch(() => {});
  rmSync(root, { recursive: true, force: true });
});

describe("power loss (F02): the layer forgets unsynced bytes, the daemon's acknowledged writes survive it", () => {
  it("control: a file written without fsync is gone after the cut, a fsynced one is whole", async () => {
    const fd = openSync(join(layer.mountpoint, "synced"), "w");
    writeSync(fd, "kept\n");
    fsyncSync(fd);
    writeSync(fd, "lost\n");
    closeSync(fd);
    const other = openSync(join(layer.mountpoint, "unsynced"), "w");
    writeSync(other, "lost\n");
    closeSync(other);
    syncDir(layer.mountpoint);
    expect(readFileSync(join(layer.mountpoint, "synced"), "utf8")).toBe("kept\nlost\n");
    expect(layer.stats().volatile_blocks).toBeGreaterThan(0);

    await layer.cut();
    await layer.mount();
    expect(readFileSync(join(layer.mountpoint, "synced"), "utf8")).toBe("kept\n");
    expect(readFileSync(join(layer.mountpoint, "unsynced"), "utf8")).toBe("");
  });

  it("control: a directory entry is durable only once its directory is fsynced (create, atomic replace, unlink)", async () => {
    const dir = join(layer.mountpoint, "entries");
    mkdirSync(dir);
    syncDir(layer.mountpoint);
    const durable = (name: string, text: string) => {
      const fd = openSync(join(dir, name), "w");
      writeSync(fd, text);
      fsyncSync(fd);
      closeSync(fd);
    };
    durable("config", "old\n");
    durable("doomed", "here\n");
    syncDir(dir);
    // After the last directory fsync: a new file (its bytes fsynced), a replace by rename (a create
    // and a rename), an unlink: four entries.
    durable("new-file", "fsynced bytes\n");
    durable(".config.tmp", "new\n");
    renameSync(join(dir, ".config.tmp"), join(dir, "config"));
    unlinkSync(join(dir, "doomed"));
    expect(layer.stats().volatile_entries).toBe(4);
    await layer.cut();
    await layer.mount();
    expect(existsSync(join(dir, "new-file"))).toBe(false);
    expect(readFileSync(join(dir, "config"), "utf8")).toBe("old\n");
    expect(existsSync(join(dir, ".config.tmp"))).toBe(false);
    expect(readFileSync(join(dir, "doomed"), "utf8")).toBe("here\n");

    // The same steps with the directory fsynced: all three stick.
    durable("new-file", "fsynced bytes\n");
    durable(".config.tmp", "new\n");
    renameSync(join(dir, ".config.tmp"), join(dir, "config"));
    unlinkSync(join(dir, "doomed"));
    syncDir(dir);
    expect(layer.stats().volatile_entries).toBe(0);
    await layer.cut();
    await layer.mount();
    expect(readFileSync(join(dir, "new-file"), "utf8")).toBe("fsynced bytes\n");
    expect(readFileSync(join(dir, "config"), "utf8")).toBe("new\n");
    expect(existsSync(join(dir, "doomed"))).toBe(false);
  });

  it("the daemon's first start makes a missing data directory durable (ensureDataDir)", async () => {
    const dataDir = join(layer.mountpoint, "srv", "deploykit", "data");
    ensureDataDir(dataDir);
    writeFileSync(join(dataDir, "unsynced-sibling"), "x");
    expect(layer.stats().volatile_entries).toBeGreaterThan(0);
    await layer.cut();
    await layer.mount();
    expect(existsSync(dataDir)).toBe(true);
    // The control: the file created in it without an fsync of the directory is gone.
    expect(existsSync(join(dataDir, "unsynced-sibling"))).toBe(false);
  });

  it("control: SQLite in WAL mode loses commits at the cut with synchronous=NORMAL, keeps them with FULL (the daemon's setting)", async () => {
    const commit = (file: string, synchronous: string) => {
      const db = new Database(join(layer.mountpoint, file));
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${synchronous}`);
      db.exec("CREATE TABLE t (n INTEGER)");
      const insert = db.prepare("INSERT INTO t (n) VALUES (?)");
      for (let n = 0; n < 20; n++) insert.run(n);
      // No close: a closed connection checkpoints (and syncs) the WAL; a crash does not.
      return db;
    };
    // Held open across the cut (a connection closed before it would checkpoint first).
    const held = [commit("normal.db", "NORMAL"), commit("full.db", "FULL")];
    await layer.cut();
    await layer.mount();
    held.length = 0;
    const count = (file: string) => {
      const db = new Database(join(layer.mountpoint, file));
      try {
        return (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'").get() as { n: number }).n === 1
          ? (db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n
          : 0;
      } finally {
        db.close();
      }
    };
    expect(count("normal.db")).toBe(0);
    expect(count("full.db")).toBe(20);
  });

  it(
    `${ITERATIONS} iterations: write, cut the power on the first 2xx, remount, restart, check`,
    async () => {
      expect(Number.isInteger(ITERATIONS) && ITERATIONS > 0, "DEPLOYKIT_POWERCUT_ITERATIONS").toBe(true);
      const dataDir = join(layer.mountpoint, "data");
      ensureDataDir(dataDir);
      const nowhere = join(root, "no-docker.sock");
      d = await Daemon.start({ dataDir, dockerSocket: nowhere, logLevel: "error" });
      const acknowledged = new Set<string>();
      let unacknowledgedKept = 0;
      let lostWithTheCut = 0;
      const started = Date.now();
      for (let i = 0; i < ITERATIONS; i++) {
        const at = `iteration ${i}`;
        const names = Array.from({ length: WRITES_PER_ITERATION }, (_, w) => `f02-${i}-${w}`);
        let cut: Promise<void> | null = null;
        const answers = names.map((name) =>
          d
            .request("POST", "/api/projects", { body: { name } })
            .then((r) => {
              if (r.status !== 201) throw new Error(`${at}: ${name} answered ${r.status} ${r.text}`);
              if (cut === null) {
                // What the layer still holds in memory is what this cut throws away.
                lostWithTheCut += layer.stats().volatile_blocks;
                cut = layer.cut().then(() => d.kill().then(() => undefined));
              }
              return name;
            })
            .catch((err: unknown) => {
              if (cut === null) throw err;
              return null;
            }),
        );
        const done = await Promise.all(answers);
        expect(cut, `${at}: no write was acknowledged`).not.toBeNull();
        await cut;
        for (const name of done) if (name) acknowledged.add(name);

        await layer.mount();
        expect(existsSync(join(dataDir, "deploykit.db")), at).toBe(true);
        expect(d.integrity(), at).toEqual({ integrity: "ok", foreignKeyViolations: 0 });
        await d.restart();
        const rows = d.withDB(
          (db) =>
            db.prepare("SELECT name, count(*) AS n FROM projects WHERE name LIKE ? GROUP BY name").all(`f02-${i}-%`) as {
              name: string;
              n: number;
            }[],
        );
        for (const r of rows) expect(r.n, `${at}: ${r.name} stored ${r.n} times`).toBe(1);
        const stored = new Set(rows.map((r) => r.name));
        for (const name of names) if (acknowledged.has(name)) expect(stored.has(name), `${at}: acknowledged ${name} lost`).toBe(true);
        unacknowledgedKept += [...stored].filter((n) => !acknowledged.has(n)).length;
      }
      const listed = ((await d.must("GET", "/api/projects?limit=1000", 200)) as { data: { name: string }[] }).data
        .map((p) => p.name)
        .filter((n) => n.startsWith("f02-"));
      for (const name of acknowledged) expect(listed).toContain(name);
      console.log(
        `F02: ${ITERATIONS} power cuts, ${acknowledged.size} acknowledged writes, 0 lost; ${unacknowledgedKept} unacknowledged writes were durable anyway; the cuts dropped ${lostWithTheCut} unsynced 4 KiB blocks; ${Math.round((Date.now() - started) / 1000)} s`,
      );
    },
    Math.max(240_000, ITERATIONS * 15_000),
  );
});
