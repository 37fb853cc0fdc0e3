import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { DB } from "./db.ts";
import { DeploymentService } from "./deployment.ts";
import { EnvVarService } from "./envvar.ts";
import { PendingChangeService } from "./pending-change.ts";
import { SecretCipher } from "./secret-cipher.ts";
import { WRONG_KEY_MESSAGE } from "./secret-rows.ts";
import { mustCreateProject, mustCreateService, mustOpenDB, TEST_SECRET_KEY } from "./testing.ts";

/** A value that must never appear in any file: distinct enough that a hit is never a coincidence. */
const SECRET = "correct-horse-battery-staple-4f1d";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-secrets-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fileHas(path: string, needle: string): boolean {
  try {
    return readFileSync(path).includes(Buffer.from(needle));
  } catch {
    return false;
  }
}

/** Every place a value sits in the store: a variable, a staged create and update, a deployment's snapshot. */
async function storeEverywhere(db: DB): Promise<{ projectID: string; serviceID: string; envID: string }> {
  const p = await mustCreateProject(db);
  const s = await mustCreateService(db, p.id, { name: "api" });
  const env = new EnvVarService(db);
  const ev = await env.createEnvVar({ scope: "service", scope_id: s.id, key: "DB_PASSWORD", value: SECRET });
  const pending = new PendingChangeService(db);
  await pending.appendPendingChange(p.id, null, {
    op: deploykit.OP_ENV_CREATE,
    target_type: deploykit.TARGET_ENV_VAR,
    target_id: s.id,
    payload: { scope: "service", key: "OTHER", value: `${SECRET}-staged` },
  });
  await pending.appendPendingChange(p.id, null, {
    op: deploykit.OP_ENV_UPDATE,
    target_type: deploykit.TARGET_ENV_VAR,
    target_id: ev.id,
    payload: { value: `${SECRET}-next` },
  });
  await new DeploymentService(db).createDeployment(s.id, { image: "app:1", env_vars: { DB_PASSWORD: SECRET } });
  return { projectID: p.id, serviceID: s.id, envID: ev.id };
}

describe("encryption at rest", () => {
  it("keeps no value in clear in the database file or its WAL while open, and reads them all back", async () => {
    const path = join(dir, "deploykit.db");
    const db = mustOpenDB({ path });
    const ids = await storeEverywhere(db);
    // The WAL is read while the connection is open: recent writes live there, not in the main file.
    expect(fileHas(`${path}-wal`, "DB_PASSWORD")).toBe(true);
    for (const f of [path, `${path}-wal`]) expect(fileHas(f, SECRET), f).toBe(false);

    expect((await new EnvVarService(db).findEnvVarByID(ids.envID)).value).toBe(SECRET);
    expect((await new EnvVarService(db).resolveForService(ids.serviceID)).env.DB_PASSWORD).toBe(SECRET);
    const log = await new PendingChangeService(db).findPendingChanges(ids.projectID);
    expect(log.map((c) => c.payload)).toEqual([
      { scope: "service", key: "OTHER", value: `${SECRET}-staged` },
      { value: `${SECRET}-next`, scope: "service", scope_id: ids.serviceID, key: "DB_PASSWORD", old_value: SECRET },
    ]);
    const deps = await new DeploymentService(db).findDeployments({ service_id: ids.serviceID });
    expect(deps.items[0]?.env_vars).toEqual({ DB_PASSWORD: SECRET });

    const backup = join(dir, "copy.db");
    await db.backup(backup);
    expect(fileHas(backup, "DB_PASSWORD")).toBe(true);
    expect(fileHas(backup, SECRET)).toBe(false);
    db.close();
  });

  it("seals a legacy database's plaintext values at first open with a key, in place", async () => {
    const path = join(dir, "old.db");
    // Opened without a key: the values stay as an older version wrote them.
    const legacy = new DB(path);
    legacy.open();
    const p = await mustCreateProject(legacy);
    const conn = new Database(path);
    conn.exec("DELETE FROM secret_state");
    conn
      .prepare("INSERT INTO env_vars (id, scope, scope_id, key, value, created_at, updated_at) VALUES ('e1', 'project', ?, 'K', ?, '', '')")
      .run(p.id, SECRET);
    conn
      .prepare(
        "INSERT INTO env_vars (id, scope, scope_id, key, value, created_at, updated_at) VALUES ('e2', 'project', ?, 'V', 'v1:looks-sealed', '', '')",
      )
      .run(p.id);
    conn.close();
    legacy.close();

    const db = mustOpenDB({ path });
    const env = new EnvVarService(db);
    expect((await env.findEnvVarByID("e1")).value).toBe(SECRET);
    expect((await env.findEnvVarByID("e2")).value).toBe("v1:looks-sealed");
    db.close();
    const raw = new Database(path, { readonly: true });
    const stored = raw.prepare("SELECT value FROM env_vars WHERE id = 'e1'").get() as { value: string };
    raw.close();
    expect(stored.value.startsWith("v1:")).toBe(true);
    for (const f of [path, `${path}-wal`]) expect(fileHas(f, SECRET), f).toBe(false);
  });

  it("refuses to open with another key, naming what to do", async () => {
    const path = join(dir, "k.db");
    const db = mustOpenDB({ path });
    await storeEverywhere(db);
    db.close();
    const other = new DB(path, { cipher: new SecretCipher(Buffer.alloc(32, 1)) });
    expect(() => other.open()).toThrow(WRONG_KEY_MESSAGE);
    const again = mustOpenDB({ path, cipher: new SecretCipher(TEST_SECRET_KEY) });
    again.close();
  });

  it("fails plainly when a value is touched through a database opened without a key", async () => {
    const path = join(dir, "nokey.db");
    mustOpenDB({ path }).close();
    const db = new DB(path);
    db.open();
    const p = await mustCreateProject(db);
    await expect(new EnvVarService(db).createEnvVar({ scope: "project", scope_id: p.id, key: "K", value: "v" })).rejects.toThrow(
      "opened without the secret key",
    );
    db.close();
  });
});
