// SQLite layer benchmarks: Apply of a 100-entry log, listing 500 services, token validation.
// Runs against a real database file (WAL, synchronous=FULL) in a temp folder, so fsync costs count.
// `node bench/sqlite.ts` — prints a table; figures are medians over the rounds shown.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type * as deploykit from "../src/index.ts";
import * as sqlite from "../src/sqlite/index.ts";
import { mustCreateEnvVar, mustCreateProject, mustOpenDB, TEST_BCRYPT_COST } from "../src/sqlite/testing.ts";

const dir = mkdtempSync(join(tmpdir(), "dk-bench-sqlite-"));
let dbSeq = 0;
const freshDB = () => mustOpenDB({ path: join(dir, `bench-${++dbSeq}.db`) });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

/** A project with 20 deployed services (each with 3 env vars), plus project-wide vars, and a 100-entry log. */
async function stageHundred(db: sqlite.DB): Promise<string> {
  const p = await mustCreateProject(db, "bench");
  const pending = new sqlite.PendingChangeService(db);
  const canvas = new sqlite.CanvasService(db);
  for (let i = 0; i < 20; i++) {
    await canvas.upsertNode(p.id, { id: `base-${i}`, type: "service", position_x: i * 10, position_y: 0 });
    await pending.appendPendingChange(p.id, null, {
      op: "service.create",
      target_type: "service",
      target_temp_id: `base-${i}`,
      payload: { name: `base-${i}`, image: "nginx:1.27", ports: [{ container_port: 80 + i }] },
    });
  }
  const base = await pending.applyPendingChanges(p.id);
  const ids = Object.values(base.temp_id_to_service_id);
  const vars: deploykit.EnvVar[] = [];
  for (const [i, id] of ids.entries()) {
    for (let k = 0; k < 3; k++)
      vars.push(
        await mustCreateEnvVar(db, { scope: "service", scope_id: id, key: `K${k}`, value: `http://\${{base-${(i + 1) % 20}.HOST}}:${k}` }),
      );
  }
  for (let k = 0; k < 5; k++) await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: `P${k}`, value: `${k}` });
  const appends: deploykit.PendingChangeAppend[] = [];
  for (let i = 0; i < 30; i++) {
    await canvas.upsertNode(p.id, { id: `new-${i}`, type: "service", position_x: i * 10, position_y: 100 });
    appends.push({
      op: "service.create",
      target_type: "service",
      target_temp_id: `new-${i}`,
      payload: {
        name: `new-${i}`,
        image: "redis:7",
        env_vars: [{ scope: "service", key: "UPSTREAM", value: `\${{base-${i % 20}.HOST}}` }],
      },
    });
  }
  for (let i = 0; i < 30; i++)
    appends.push({
      op: "env_var.create",
      target_type: "env_var",
      parent_temp_id: `new-${i}`,
      payload: { scope: "service", key: "EXTRA", value: `${i}` },
    });
  for (let i = 0; i < 20; i++)
    appends.push({ op: "env_var.update", target_type: "env_var", target_id: vars[i * 3]!.id, payload: { value: `v${i}` } });
  for (let i = 0; i < 15; i++) appends.push({ op: "service.update", target_type: "service", target_id: ids[i]!, payload: { replicas: 2 } });
  appends.push({ op: "service.update", target_type: "service", target_id: ids[19]!, payload: { name: "renamed" } });
  for (let k = 0; k < 4; k++)
    appends.push({
      op: "env_var.create",
      target_type: "env_var",
      target_id: p.id,
      payload: { scope: "project", key: `NEW_${k}`, value: "x" },
    });
  for (const a of appends) await pending.appendPendingChange(p.id, null, a);
  if ((await pending.findPendingChanges(p.id)).length !== 100) throw new Error("expected 100 entries");
  return p.id;
}

async function benchApply(rounds: number) {
  const times: number[] = [];
  let result: deploykit.ApplyResult | undefined;
  for (let r = 0; r < rounds; r++) {
    const db = freshDB();
    const projectID = await stageHundred(db);
    const t0 = performance.now();
    result = await new sqlite.PendingChangeService(db).applyPendingChanges(projectID);
    times.push(performance.now() - t0);
    db.close();
  }
  return { ms: median(times), min: Math.min(...times), max: Math.max(...times), deployments: result?.created_deployments.length ?? 0 };
}

async function benchList() {
  const db = freshDB();
  const p = await mustCreateProject(db, "list");
  const services = new sqlite.ServiceService(db);
  const deployments = new sqlite.DeploymentService(db);
  for (let i = 0; i < 500; i++) {
    const s = await services.createService(p.id, { name: `svc-${i}`, image: "nginx:1.27", ports: [{ container_port: 80 }] });
    const d = await deployments.createDeployment(s.id, { image: "nginx:1.27", env_vars: { A: "1", B: "2" } });
    await deployments.markHealthy(d.id, 0);
  }
  const walk = async () => {
    let n = 0;
    for (let offset = 0; offset < 500; offset += 100)
      n += (await services.findServices({ project_id: p.id, offset, limit: 100 })).items.length;
    if (n !== 500) throw new Error(`listed ${n}`);
  };
  for (let i = 0; i < 20; i++) await walk();
  const pageTimes: number[] = [];
  const walkTimes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await walk();
    walkTimes.push(performance.now() - t0);
  }
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await services.findServices({ project_id: p.id, limit: 100 });
    pageTimes.push(performance.now() - t0);
  }
  db.close();
  return { walkMs: median(walkTimes), pageMs: median(pageTimes), pageP99: percentile(pageTimes, 99) };
}

async function benchTokens() {
  const db = freshDB();
  const auth = new sqlite.AuthService(db, { bcryptCost: TEST_BCRYPT_COST });
  const { user, tokens } = await auth.register({ email: "bench@x.io", name: "Bench", password: "password123" });
  for (let i = 0; i < 200; i++) await auth.login({ email: "bench@x.io", password: "password123" });
  const key = await auth.createAPIKey(user.id, { description: "bench" });
  const measure = async (token: string, n: number) => {
    for (let i = 0; i < 1000; i++) await auth.authenticate(token);
    const times: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await auth.authenticate(token);
      times.push(performance.now() - s);
    }
    const total = performance.now() - t0;
    return { perSec: Math.round((n / total) * 1000), p99us: Math.round(percentile(times, 99) * 1000) };
  };
  const access = await measure(tokens.access_token, 50_000);
  const apiKey = await measure(key.token, 50_000);
  db.close();
  return { access, apiKey };
}

try {
  const apply = await benchApply(7);
  const list = await benchList();
  const tokens = await benchTokens();
  const rows = [
    [
      "Apply, 100-entry log (30 creates, 30 env creates, 20 env updates, 16 updates incl. a rename, 4 project vars)",
      `${apply.ms.toFixed(1)} ms median (min ${apply.min.toFixed(1)}, max ${apply.max.toFixed(1)}), ${apply.deployments} deployments created`,
    ],
    [
      "findServices, one page of 100 (of 500, with active deployment)",
      `${apply ? list.pageMs.toFixed(3) : ""} ms median, p99 ${list.pageP99.toFixed(3)} ms`,
    ],
    ["listing all 500 services (5 pages of 100)", `${list.walkMs.toFixed(2)} ms median`],
    ["authenticate(access token), 201 sessions", `${tokens.access.perSec.toLocaleString("en-US")} /s, p99 ${tokens.access.p99us} µs`],
    ["authenticate(API key), last_used_at throttled", `${tokens.apiKey.perSec.toLocaleString("en-US")} /s, p99 ${tokens.apiKey.p99us} µs`],
  ];
  for (const [what, result] of rows) console.log(`| ${what} | ${result} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
