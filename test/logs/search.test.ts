// Issue 15, logs: search, download and deployment logs against real containers. The reconciler runs
// for real (SQLite in memory, the shared dockerd), so the lines kept at teardown are the ones it kept.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as docker from "../../src/docker/index.ts";
import { randomID, rawDocker, removeLabelled, TEST_IMAGE, waitFor } from "../../src/docker/testutil.ts";
import * as deploykit from "../../src/index.ts";
import * as reconciler from "../../src/reconciler/index.ts";
import * as sqlite from "../../src/sqlite/index.ts";
import { mustCreateProject, mustCreateService, mustOpenDB } from "../../src/sqlite/testing.ts";
import { ADMIN_TOKEN, type Harness, startServer } from "../http/harness.ts";

const instanceID = randomID("inst-");
const raw = rawDocker();
const client = new docker.Client({ instanceID });
/** 34 a's then b: `(a+)+$` backtracks for minutes on it. */
const EVIL = `${"a".repeat(34)}b`;
// stdout and stderr are separate pipes that dockerd timestamps as it reads them: a second apart, their order is sure.
const TALK = `echo alpha-1; sleep 1; echo beta-err >&2; sleep 1; echo alpha-2; echo gamma-42; echo ${EVIL}; trap 'echo bye; exit 0' TERM; sleep 300 & wait`;

let db: sqlite.DB;
let deployments: sqlite.DeploymentService;
let rec: reconciler.Reconciler;
let h: Harness;
let project: deploykit.Project;
let service: deploykit.Service;
let first: deploykit.Deployment;

async function reconcileUntil(what: string, cond: () => Promise<boolean>): Promise<void> {
  await waitFor(
    async () => {
      await rec.reconcileOnce();
      return cond();
    },
    60_000,
    what,
  );
}

async function get<T>(path: string): Promise<{ status: number; body: T; headers: Headers; text: string }> {
  const res = await fetch(`${h.url}/api/projects/${project.id}/services/${service.id}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const text = await res.text();
  const json = res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined;
  return { status: res.status, body: json as T, headers: res.headers, text };
}

type Found = { data: deploykit.LogLine[]; scanned: number; truncated: boolean };
const search = (qs: string) => get<Found>(`/logs/search?${qs}`);
const texts = (r: { body: Found }) => r.body.data.map((l) => l.line);

beforeAll(async () => {
  db = mustOpenDB();
  const services = new sqlite.ServiceService(db);
  deployments = new sqlite.DeploymentService(db);
  const containers = new sqlite.ContainerService(db);
  project = await mustCreateProject(db, `logs ${randomID("")}`);
  service = await mustCreateService(db, project.id, { name: "talker", image: TEST_IMAGE });
  rec = new reconciler.Reconciler({
    projects: new sqlite.ProjectService(db),
    services,
    deployments,
    containers,
    runtime: client.runtime,
    provisioner: client.provisioner,
    logs: client.logs,
    bus: { publish: () => undefined },
    instanceID,
    stableWindowMs: 0,
    intervalMs: 3_600_000,
    logger: deploykit.nopLogger,
  });
  first = await deployments.createDeployment(service.id, { image: TEST_IMAGE, start_command: ["sh", "-c", TALK], stop_grace_seconds: 2 });
  await reconcileUntil("first deployment healthy", async () => (await deployments.findDeploymentByID(first.id)).status === "healthy");
  h = await startServer({ services, deployments, containers, logs: client.logs });
  await waitFor(async () => texts(await search("q=gamma")).length === 1, 15_000, "all lines written");
});

afterAll(async () => {
  await h?.close();
  await rec?.stop();
  db?.close();
  await removeLabelled(raw, deploykit.LABEL_INSTANCE, instanceID);
});

describe("log search on the server", () => {
  it("finds lines by regex, each with its Docker timestamp and replica", async () => {
    const r = await search(`q=${encodeURIComponent("^alpha-\\d$")}&regex=true`);
    expect(r.status).toBe(200);
    expect(texts(r)).toEqual(["alpha-1", "alpha-2"]);
    for (const l of r.body.data) {
      expect(l.replica).toBe(0);
      expect(Date.parse(l.ts as string)).toBeGreaterThan(Date.now() - 120_000);
    }
    expect(r.body).toMatchObject({ truncated: false, scanned: 5 });
  });

  it("filters by stream, replica, and case-insensitive text", async () => {
    expect(texts(await search("stream=stderr"))).toEqual(["beta-err"]);
    expect(texts(await search("q=ALPHA&stream=stdout"))).toEqual(["alpha-1", "alpha-2"]);
    expect(texts(await search("replica=1"))).toEqual([]);
    expect(texts(await search("limit=2"))).toEqual(["gamma-42", EVIL]);
  });

  it("searches a time window with since and until", async () => {
    const all = (await search("")).body.data;
    const ts = (text: string) => all.find((l) => l.line === text)?.ts as string;
    expect(texts(await search(`since=${encodeURIComponent(ts("alpha-2"))}`))).toEqual(["alpha-2", "gamma-42", EVIL]);
    expect(texts(await search(`until=${encodeURIComponent(ts("beta-err"))}`))).toEqual(["alpha-1", "beta-err"]);
    const after = new Date(Date.parse(ts(EVIL)) + 1).toISOString();
    expect(texts(await search(`since=${after}`))).toEqual([]);
  });

  it("answers 422 invalid naming the field for a bad pattern or time", async () => {
    const bad = await get<{ error: string; errors: Record<string, string[]> }>(
      `/logs/search?q=${encodeURIComponent("(x")}&regex=true&since=soon`,
    );
    expect(bad.status).toBe(422);
    expect(bad.body.error).toBe("invalid");
    expect(Object.keys(bad.body.errors).sort()).toEqual(["q", "since"]);
  });

  it("stops a catastrophic regex at the time budget and says the result is truncated", async () => {
    const t0 = Date.now();
    const r = await search(`q=${encodeURIComponent("(a+)+$")}&regex=true`);
    const ms = Date.now() - t0;
    expect(r.status).toBe(200);
    expect(r.body.truncated).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(deploykit.LOG_SEARCH_BUDGET_MS - 100);
    expect(ms).toBeLessThan(deploykit.LOG_SEARCH_BUDGET_MS + 3000);
    // The server is not stuck: the next search answers at once.
    expect(texts(await search("q=beta"))).toEqual(["beta-err"]);
  });

  it("downloads the selected window as a text file", async () => {
    const r = await get(`/logs/download?q=alpha`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(r.headers.get("content-disposition")).toMatch(/^attachment; filename="talker-logs-[0-9TZ-]+\.log"$/);
    const rows = r.text
      .trimEnd()
      .split("\n")
      .map((l) => l.split("\t"));
    expect(rows.map((c) => c.slice(1))).toEqual([
      ["0", "stdout", "alpha-1"],
      ["0", "stdout", "alpha-2"],
    ]);
    expect(Date.parse(rows[0]?.[0] as string)).toBeGreaterThan(0);
  });
});

describe("deployment logs", () => {
  it("reads a deployment's containers while they exist, and the lines kept at teardown after", async () => {
    type DL = { source: string; data: deploykit.LogLine[] };
    const live = await get<DL>(`/deployments/${first.id}/logs`);
    expect(live.body.source).toBe("containers");
    expect(live.body.data.map((l) => l.line)).toEqual(["alpha-1", "beta-err", "alpha-2", "gamma-42", EVIL]);

    const second = await deployments.createDeployment(service.id, {
      image: TEST_IMAGE,
      start_command: ["sh", "-c", "echo second; trap 'exit 0' TERM; sleep 300 & wait"],
      stop_grace_seconds: 2,
    });
    await reconcileUntil("first deployment's container removed", async () => {
      const left = await raw.listContainers({ all: true, filters: { label: [`${deploykit.LABEL_DEPLOYMENT_ID}=${first.id}`] } });
      return left.length === 0 && (await deployments.findDeploymentByID(second.id)).status === "healthy";
    });
    const kept = await get<DL>(`/deployments/${first.id}/logs`);
    expect(kept.status).toBe(200);
    expect(kept.body.source).toBe("kept");
    expect(kept.body.data.map((l) => [l.line, l.stream, l.replica])).toEqual([
      ["alpha-1", "stdout", 0],
      ["beta-err", "stderr", 0],
      ["alpha-2", "stdout", 0],
      ["gamma-42", "stdout", 0],
      [EVIL, "stdout", 0],
      // Printed on SIGTERM: the lines are kept once the container has stopped.
      ["bye", "stdout", 0],
    ]);
    expect(kept.body.data.every((l) => typeof l.ts === "string")).toBe(true);
    expect((await get<DL>(`/deployments/${first.id}/logs?tail=2`)).body.data.map((l) => l.line)).toEqual([EVIL, "bye"]);
    await waitFor(async () => (await get<DL>(`/deployments/${second.id}/logs`)).body.data.length === 1, 10_000, "second's line");
    // The service's search covers the containers Docker still has: the second deployment's.
    expect(texts(await search(""))).toEqual(["second"]);
  });

  it("answers 404 for a deployment of another service", async () => {
    const other = await mustCreateService(db, project.id, { name: "other", image: TEST_IMAGE });
    const dep = await deployments.createDeployment(other.id, { image: TEST_IMAGE });
    const r = await get<{ message: string }>(`/deployments/${dep.id}/logs`);
    expect([r.status, r.body.message]).toEqual([404, "Deployment not found."]);
  });
});
