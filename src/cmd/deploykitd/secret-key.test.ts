import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as sqlite from "../../sqlite/index.ts";
import { mustCreateProject } from "../../sqlite/testing.ts";
import { DaemonProcess, runDeploykitd } from "./testing.ts";

/** A value that must appear in no file: distinct enough that a hit is never a coincidence. */
const SECRET = "sealed-value-7c2e9a41-not-in-any-file";

let dir: string;
const running: DaemonProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-secret-key-"));
});
afterEach(async () => {
  for (const d of running.splice(0)) await d.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function fileHas(path: string, needle: string): boolean {
  return existsSync(path) && readFileSync(path).includes(Buffer.from(needle));
}

/** A data directory whose key file exists (as the daemon's first start leaves it) and a variable holding SECRET. */
async function mustCreateSealedDataDir(name = "data"): Promise<{ dataDir: string; dbPath: string }> {
  const dataDir = join(dir, name);
  mkdirSync(dataDir, { mode: 0o700 });
  const dbPath = join(dataDir, "deploykit.db");
  const { cipher } = sqlite.loadSecretKey(dataDir, undefined);
  const db = new sqlite.DB(dbPath, { cipher });
  db.open();
  const p = await mustCreateProject(db, "Shop");
  await new sqlite.EnvVarService(db).createEnvVar({ scope: "project", scope_id: p.id, key: "DB_PASSWORD", value: SECRET });
  db.close();
  return { dataDir, dbPath };
}

async function readValue(dbPath: string, cipher: sqlite.SecretCipher): Promise<string | undefined> {
  const db = new sqlite.DB(dbPath, { cipher });
  db.open();
  try {
    return (await new sqlite.EnvVarService(db).findEnvVars({ key: "DB_PASSWORD" }))[0]?.value;
  } finally {
    db.close();
  }
}

describe("the secret key file", () => {
  it("is created 0600 at the daemon's first start, and a key of the wrong length in the environment is refused", async () => {
    const dataDir = join(dir, "fresh");
    const d = await DaemonProcess.start(["-data-dir", dataDir], dir);
    running.push(d);
    const key = join(dataDir, "secret.key");
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(sqlite.readKeyFile(key)).toHaveLength(32);
    expect(d.output).toContain("secret key created");
    await d.kill("SIGTERM");

    const r = runDeploykitd(["-data-dir", join(dir, "other")], { cwd: dir, env: { DEPLOYKIT_SECRET_KEY: "c2hvcnQ=" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("DEPLOYKIT_SECRET_KEY decodes to 5 bytes; it must be 32");
    expect(r.stderr).not.toContain("c2hvcnQ=");
  });
});

describe("deploykitd backup and restore with the key", () => {
  it("writes <backup>.key 0600 beside a backup that holds no value in clear, and restore installs it elsewhere", async () => {
    const d = await mustCreateSealedDataDir();
    const dest = join(dir, "out.db");
    const b = runDeploykitd(["backup", "-data-dir", d.dataDir, dest], { cwd: dir });
    expect(b.stderr).toBe("");
    expect(b.stdout).toContain(`secret key: ${dest}.key (mode 0600); restore needs it`);
    expect(statSync(`${dest}.key`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${dest}.key`, "utf8")).toBe(readFileSync(join(d.dataDir, "secret.key"), "utf8"));
    expect(fileHas(dest, "DB_PASSWORD")).toBe(true);
    expect(fileHas(dest, SECRET)).toBe(false);
    // A second backup to the same name is refused before anything is copied.
    expect(runDeploykitd(["backup", "-data-dir", d.dataDir, dest], { cwd: dir }).stderr).toContain("already exists");

    // Another host: a data directory with a key of its own.
    const other = await mustCreateSealedDataDir("other");
    const otherKey = readFileSync(join(other.dataDir, "secret.key"), "utf8");
    const r = runDeploykitd(["restore", "-data-dir", other.dataDir, dest], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`secret key: installed ${dest}.key as ${join(other.dataDir, "secret.key")}`);
    const aside = readdirSync(other.dataDir).find((f) => f.startsWith("secret.key.") && f.endsWith(".before-restore"));
    expect(aside && readFileSync(join(other.dataDir, aside), "utf8")).toBe(otherKey);
    const cipher = new sqlite.SecretCipher(sqlite.readKeyFile(join(other.dataDir, "secret.key")));
    expect(await readValue(other.dbPath, cipher)).toBe(SECRET);
  });

  it("refuses a sealed backup without its key, writing nothing", async () => {
    const d = await mustCreateSealedDataDir();
    const dest = join(dir, "out.db");
    runDeploykitd(["backup", "-data-dir", d.dataDir, dest], { cwd: dir });
    rmSync(`${dest}.key`);
    const other = await mustCreateSealedDataDir("other");
    const before = readdirSync(other.dataDir).sort();
    const r = runDeploykitd(["restore", "-data-dir", other.dataDir, dest], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("encrypted with a key that is neither");
    expect(r.stderr).toContain("Nothing was written.");
    expect(readdirSync(other.dataDir).sort()).toEqual([...before, "deploykitd.lock"].sort());
  });
});

describe("deploykitd rotate-key", () => {
  it("re-encrypts under a new key file, removes the old one, and old backups keep their own key", async () => {
    const d = await mustCreateSealedDataDir();
    const keyFile = join(d.dataDir, "secret.key");
    const oldKey = sqlite.readKeyFile(keyFile);
    const r = runDeploykitd(["rotate-key", "-data-dir", d.dataDir], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`rotated the secret key of ${d.dbPath}`);
    expect(r.stdout).toContain("re-encrypted 1 variables, 0 deployment snapshots, 0 staged changes");
    const newKey = sqlite.readKeyFile(keyFile);
    expect(newKey.equals(oldKey)).toBe(false);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(existsSync(join(d.dataDir, "secret.key.old"))).toBe(false);
    expect(r.stdout).not.toContain(newKey.toString("base64"));
    expect(await readValue(d.dbPath, new sqlite.SecretCipher(newKey))).toBe(SECRET);
    expect(() => new sqlite.DB(d.dbPath, { cipher: new sqlite.SecretCipher(oldKey) }).open()).toThrow("does not match");
    for (const f of [d.dbPath, `${d.dbPath}-wal`]) expect(fileHas(f, SECRET)).toBe(false);
  });

  it("finishes an interrupted rotation (secret.key.old left behind) when run again", async () => {
    const d = await mustCreateSealedDataDir();
    const keyFile = join(d.dataDir, "secret.key");
    const oldKey = sqlite.readKeyFile(keyFile);
    // The crash point: the new key written, the old one kept, no value re-encrypted yet.
    sqlite.writeKeyFile(join(d.dataDir, "secret.key.old"), oldKey);
    sqlite.writeKeyFile(keyFile, Buffer.alloc(32, 3));
    const r = runDeploykitd(["rotate-key", "-data-dir", d.dataDir], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("finished the interrupted rotation");
    expect(existsSync(join(d.dataDir, "secret.key.old"))).toBe(false);
    expect(await readValue(d.dbPath, new sqlite.SecretCipher(Buffer.alloc(32, 3)))).toBe(SECRET);
  });

  it("refuses while a daemon holds the data directory, and with an environment key but no new one", async () => {
    const d = await mustCreateSealedDataDir();
    const daemon = await DaemonProcess.start(["-data-dir", d.dataDir], dir);
    running.push(daemon);
    const before = readFileSync(join(d.dataDir, "secret.key"));
    const r = runDeploykitd(["rotate-key", "-data-dir", d.dataDir], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("deploykitd: rotate-key failed:");
    expect(r.stderr).toContain(`pid ${daemon.pid}`);
    expect(readFileSync(join(d.dataDir, "secret.key")).equals(before)).toBe(true);
    await daemon.kill("SIGTERM");

    const env = { DEPLOYKIT_SECRET_KEY: sqlite.readKeyFile(join(d.dataDir, "secret.key")).toString("base64") };
    const e = runDeploykitd(["rotate-key", "-data-dir", d.dataDir], { cwd: dir, env });
    expect(e.code).toBe(1);
    expect(e.stderr).toContain("set DEPLOYKIT_NEW_SECRET_KEY");
    const next = Buffer.alloc(32, 5).toString("hex");
    const ok = runDeploykitd(["rotate-key", "-data-dir", d.dataDir], { cwd: dir, env: { ...env, DEPLOYKIT_NEW_SECRET_KEY: next } });
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toContain("set DEPLOYKIT_SECRET_KEY to the value of DEPLOYKIT_NEW_SECRET_KEY");
    expect(await readValue(d.dbPath, new sqlite.SecretCipher(Buffer.alloc(32, 5)))).toBe(SECRET);
  });
});
