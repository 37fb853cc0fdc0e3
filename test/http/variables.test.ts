/**
 * Variables over HTTP on the real SQLite services (issue 14, references): shared scope, references
 * checked when staged, renames that rewrite references, the RAW editor and the reference catalog.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventBus } from "../../src/events/index.ts";
import type { Client } from "../../src/http/index.ts";
import * as sqlite from "../../src/sqlite/index.ts";
import { mustOpenDB, TEST_BCRYPT_COST } from "../../src/sqlite/testing.ts";
import { type Harness, SETUP_TOKEN, startServer } from "./harness.ts";

let h: Harness;
let db: sqlite.DB;

beforeEach(async () => {
  db = mustOpenDB({ bus: new EventBus() });
  h = await startServer({
    projects: new sqlite.ProjectService(db),
    users: new sqlite.UserService(db, { bcryptCost: TEST_BCRYPT_COST }),
    auth: new sqlite.AuthService(db, { bcryptCost: TEST_BCRYPT_COST }),
    services: new sqlite.ServiceService(db),
    deployments: new sqlite.DeploymentService(db),
    containers: new sqlite.ContainerService(db),
    canvas: new sqlite.CanvasService(db),
    envVars: new sqlite.EnvVarService(db),
    pendingChanges: new sqlite.PendingChangeService(db),
    domains: new sqlite.DomainService(db),
    settings: new sqlite.SettingsService(db),
    reconciler: { trigger: () => {}, triggerService: () => {}, status: () => ({ docker_reachable: false }) },
  });
});

afterEach(async () => {
  await h.close();
  db.close();
});

async function admin(): Promise<Client> {
  const c = h.client(null);
  const { tokens } = await c.register({ email: "ada@example.com", name: "Ada", password: "correct-horse-1", setup_token: SETUP_TOKEN });
  c.token = tokens.access_token;
  return c;
}

/** A project with a deployed `db` (USER, PASSWORD, port 5432) and `web`. */
async function mustDeployPair(c: Client) {
  const p = await c.createProject("Shop");
  const dbc = await c.createService(p.id, {
    name: "db",
    image: "deploykit-test/busybox:1",
    ports: [{ container_port: 5432 }],
    env_vars: [
      { key: "USER", value: "app" },
      { key: "PASSWORD", value: "s3cret" },
    ],
  });
  const webc = await c.createService(p.id, { name: "web", image: "deploykit-test/busybox:1" });
  const r = await c.deploy(p.id);
  const ids = {
    db: r.temp_id_to_service_id[dbc.target_temp_id as string] as string,
    web: r.temp_id_to_service_id[webc.target_temp_id as string] as string,
  };
  return { p, ids };
}

describe("references over HTTP", () => {
  it("refuses a missing reference when staged, resolves shared and service references at deploy, provider first", async () => {
    const c = await admin();
    const { p, ids } = await mustDeployPair(c);
    const web = { scope: "service" as const, serviceID: ids.web };
    const bad = await c.createEnvVar(p.id, web, "URL", "${{db.NOPE}}").catch((e) => e);
    expect([bad.code, bad.message]).toEqual(["invalid", 'Reference ${{db.NOPE}} in web.URL: service "db" has no variable NOPE.']);
    const cycle = await c.createEnvVar(p.id, web, "A", "${{A}}").catch((e) => e);
    expect(cycle.message).toBe("Reference ${{A}} in web.A: cycle web.A → web.A.");

    await c.createEnvVar(p.id, { scope: "shared" }, "REGION", "eu");
    await c.createEnvVar(p.id, web, "URL", "postgres://${{db.USER}}:${{db.PASSWORD}}@${{db.HOST}}:${{db.PORT}}/app?r=${{shared.REGION}}");
    const r = await c.deploy(p.id);
    expect(r.redeployed_service_ids).toEqual([ids.web]);
    expect(r.created_deployments[0]?.env_vars).toEqual({ URL: "postgres://app:s3cret@db:5432/app?r=eu" });
    // Shared variables are not injected: db's snapshot is unchanged, so it was not redeployed.
    expect((await c.findEnvVars(p.id, { scope: "shared" })).map((v) => v.key)).toEqual(["REGION"]);

    // A change to a referenced value redeploys the consumer too, provider first, consumer waiting.
    const pw = (await c.findEnvVars(p.id, { scope: "service", serviceID: ids.db })).find((v) => v.key === "PASSWORD");
    await c.updateEnvVar(p.id, { scope: "service", serviceID: ids.db }, pw?.id as string, "n3w");
    const r2 = await c.deploy(p.id);
    expect(r2.created_deployments.map((d) => d.service_id)).toEqual([ids.db, ids.web]);
    expect(r2.created_deployments[1]?.wait_for).toEqual([r2.created_deployments[0]?.id]);
    expect(r2.created_deployments[1]?.env_vars.URL).toBe("postgres://app:n3w@db:5432/app?r=eu");

    // Renaming the variable rewrites the reference in the same change.
    await c.renameEnvVar(p.id, { scope: "service", serviceID: ids.db }, pw?.id as string, "PASS");
    await c.deploy(p.id);
    const url = (await c.findEnvVars(p.id, web)).find((v) => v.key === "URL");
    expect((await c.revealEnvVar(p.id, web, url?.id as string)).value).toBe(
      "postgres://${{db.USER}}:${{db.PASS}}@${{db.HOST}}:${{db.PORT}}/app?r=${{shared.REGION}}",
    );

    // Deleting a referenced variable is refused, naming the reference.
    const region = (await c.findEnvVars(p.id, { scope: "shared" }))[0];
    const del = await c.deleteEnvVar(p.id, { scope: "shared" }, region?.id as string).catch((e) => e);
    expect(del.message).toBe("Reference ${{shared.REGION}} in web.URL: no shared variable REGION.");

    const cat = await c.findReferenceCatalog(p.id);
    expect(cat.services.find((s) => s.name === "db")?.variables).toEqual([
      { key: "HOST", value: "db", builtin: true },
      { key: "PORT", value: "5432", builtin: true },
      { key: "PASS", value: "n3w" },
      { key: "USER", value: "app" },
    ]);
    expect(cat.shared).toEqual([{ key: "REGION", value: "eu" }]);
    expect(cat.uses.filter((u) => u.target === "db").map((u) => u.target_key)).toEqual(["USER", "PASS", "HOST", "PORT"]);
  });

  it("RAW editor: .env out with comments kept, .env in staged as one change", async () => {
    const c = await admin();
    const { p, ids } = await mustDeployPair(c);
    const owner = { scope: "service" as const, serviceID: ids.db };
    expect(await c.getEnvRaw(p.id, owner)).toBe("PASSWORD=s3cret\nUSER=app\n");
    const bad = await c.putEnvRaw(p.id, owner, "1BAD=x\nnoequals").catch((e) => e);
    expect(bad.code).toBe("invalid");
    expect(bad.fields.text).toHaveLength(2);

    const staged = await c.putEnvRaw(p.id, owner, "# credentials\nUSER=admin\n\n# new\nDB_NAME=app # inline comment\n");
    expect(staged.map((x) => x.op).sort()).toEqual(["env_var.create", "env_var.delete", "env_var.update"]);
    expect(new Set(staged.map((x) => x.payload.raw_batch)).size).toBe(1);
    await c.deploy(p.id);
    expect(await c.getEnvRaw(p.id, owner)).toBe("# credentials\nUSER=admin\n\n# new\nDB_NAME=app\n");
    expect(await c.putEnvRaw(p.id, owner, "# credentials\nUSER=admin\n\n# new\nDB_NAME=app\n")).toEqual([]);
  });
});
