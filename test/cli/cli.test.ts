/**
 * The built `deploykit` CLI as a subprocess against a real deploykitd and dockerd: login with a
 * token, link, status --json, variables set + deploy + run, logs -f receiving a live line, and the
 * documented exit codes (2 usage, 3 auth, 4 not found).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon, freePort } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";
import { CliUser, ensureBuilt } from "./harness.ts";

const IMAGE = "deploykit-test/greeter:1";
let d: Daemon;
let u: CliUser;
let apiKey = "";
let projectID = "";
let serviceID = "";
let hostPort = 0;

beforeAll(async () => {
  ensureBuilt();
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  d = await Daemon.start({ reconcileInterval: "2s" });
  u = new CliUser();
  apiKey = (await d.must("POST", "/api/api-keys", 201, { body: { description: "cli test" } })).token;
  const project = await d.must("POST", "/api/projects", 201, { body: { name: "Cli Shop" } });
  projectID = project.id;
  hostPort = await freePort();
  const staged = await d.must("POST", `/api/projects/${projectID}/services`, 201, {
    body: {
      name: "web",
      image: IMAGE,
      ports: [{ container_port: 8080, host_port: hostPort }],
      env_vars: [{ key: "GREETING", value: "hi-v1" }],
    },
  });
  const applied = await d.must("POST", `/api/projects/${projectID}/deploy`, 200);
  serviceID = applied.temp_id_to_service_id[staged.target_temp_id];
  await d.must("POST", `/api/projects/${projectID}/services`, 201, { body: { name: "worker", image: IMAGE } });
  await d.must("POST", `/api/projects/${projectID}/deploy`, 200);
}, 240_000);

afterAll(async () => {
  if (d) {
    const instanceID = d.instanceID();
    await d.stop();
    const docker = new Docker();
    const label = [`deploykit.instance=${instanceID}`];
    for (const x of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(x.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters: { label } })) await docker.getNetwork(n.Id).remove();
    await d.destroy();
  }
  u?.cleanup();
});

async function serving(): Promise<string | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? (await r.text()).trim() : null;
  } catch {
    return null;
  }
}

describe("deploykit CLI against a real daemon", () => {
  it("exits 2 on usage errors and 3 when not logged in", async () => {
    expect((await u.run(["frobnicate"])).code).toBe(2);
    expect((await u.run(["logs", "--no-such-flag"])).code).toBe(2);
    const r = await u.run(["whoami"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("Not logged in");
    const bad = await u.run(["--url", d.url, "login", "--token", "dk_not-a-real-key"]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain("unauthorized");
    const help = await u.run(["variables", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--sealed");
  });

  it("logs in with a token into a 0600 credentials file, and whoami answers", async () => {
    const r = await u.run(["--url", d.url, "login", "--token", apiKey]);
    expect(r.code, r.stderr).toBe(0);
    const creds = join(u.config, "deploykit/credentials.json");
    expect(statSync(creds).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(creds, "utf8"))).toMatchObject({ url: d.url, token: apiKey });
    const me = await u.run(["whoami", "--json"]);
    expect(me.code).toBe(0);
    expect(JSON.parse(me.stdout).user.email).toBe("admin@faults.test");
    // The environment alone works too (CI), and an unknown key there is an auth failure.
    const env = await u.run(["whoami"], { env: { DEPLOYKIT_URL: d.url, DEPLOYKIT_TOKEN: "dk_nope" } });
    expect(env.code).toBe(3);
  });

  it("links the directory by names, and exits 4 for an unknown project or service", async () => {
    expect((await u.run(["link", "--project", "nope"])).code).toBe(4);
    expect((await u.run(["link", "--project", "Cli Shop", "--service", "nope"])).code).toBe(4);
    // Two services and no terminal: the project alone is linked, no prompt.
    expect((await u.run(["link", "--project", "Cli Shop"])).code).toBe(0);
    const r = await u.run(["link", "--project", "cli shop", "--service", "web", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const link = JSON.parse(readFileSync(join(u.cwd, ".deploykit.json"), "utf8"));
    expect(link).toMatchObject({ project_id: projectID, service_id: serviceID, service_name: "web" });
    expect((await u.run(["logs", "--deployment", "nope"])).code).toBe(4);
  });

  it("status --json lists the project, its services, URLs and last deployment", async () => {
    await waitFor(async () => (await serving()) === "hi-v1", { timeoutMs: 90_000, intervalMs: 300, what: "hi-v1 served" });
    const r = await u.run(["status", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.projects).toHaveLength(1);
    expect(s.projects[0].name).toBe("Cli Shop");
    const web = s.projects[0].services.find((x: { name: string }) => x.name === "web");
    expect(web.urls).toContain(`http://127.0.0.1:${hostPort}`);
    expect(web.last_deployment.id).toMatch(/\w/);
    const human = await u.run(["status"]);
    expect(human.stdout).toContain("web");
  });

  it("logs -f receives a line written after it started", async () => {
    const child = u.spawn(["logs", "-f", "--tail", "1"]);
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
    });
    try {
      await waitFor(
        async () => {
          await serving();
          return out.includes("url:/");
        },
        { timeoutMs: 30_000, intervalMs: 500, what: "a request line in logs -f" },
      );
    } finally {
      child.kill("SIGTERM");
    }
    // Without -f: the recent history, then the command ends by itself.
    const hist = await u.run(["logs", "--since", "1h"]);
    expect(hist.code).toBe(0);
    expect(hist.stdout).toContain("greeter: serving on 8080");
  });

  it("variables set stages, deploy --yes applies, run sees the value", async () => {
    const set = await u.run(["variables", "set", "GREETING=hi-v2", "EXTRA=from cli"]);
    expect(set.code, set.stderr).toBe(0);
    const list = JSON.parse((await u.run(["variables", "list", "--json"])).stdout);
    expect(list.variables).toContainEqual({ key: "EXTRA", value: "from cli", staged: "create" });
    // Without --yes and without a terminal, deploy refuses rather than hanging on a prompt.
    const ask = await u.run(["deploy"]);
    expect(ask.code).toBe(2);
    expect(ask.stderr).toContain("env_var.create");
    const dep = await u.run(["deploy", "--yes"]);
    expect(dep.code, dep.stderr).toBe(0);
    expect((await u.run(["variables", "get", "EXTRA"])).stdout.trim()).toBe("from cli");
    const run = await u.run(["run", "--", "sh", "-c", 'printf "%s|%s" "$GREETING" "$EXTRA"']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("hi-v2|from cli");
    // The child's exit status is the CLI's.
    expect((await u.run(["run", "--", "sh", "-c", "exit 7"])).code).toBe(7);
    await waitFor(async () => (await serving()) === "hi-v2", { timeoutMs: 90_000, intervalMs: 300, what: "hi-v2 served" });
  });

  it("logs --deployment reads a deployment's containers, and the lines kept once they are removed", async () => {
    const deps = (await d.must("GET", `/api/projects/${projectID}/services/${serviceID}/deployments?limit=50`, 200)).data as {
      id: string;
    }[];
    // A published host port rolls out stop-first: the new deployment is active once promoted.
    const active = await waitFor(
      async () => {
        const id = (await d.must("GET", `/api/projects/${projectID}/services/${serviceID}`, 200)).active_deployment_id as string | null;
        return id === deps[0]?.id ? id : null;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: "the newest deployment active" },
    );
    const first = deps[deps.length - 1]?.id as string;
    expect(first).not.toBe(active);
    // -n 1000: the greeter logs every request, and a loaded box makes the tests above poll it often.
    const live = await u.run(["logs", "--deployment", active, "-n", "1000"]);
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toContain("greeter: serving on 8080");
    expect(live.stderr).not.toContain("containers are gone");
    // The first deployment was replaced by the variables deploy above: its containers go once the new one is promoted.
    await waitFor(
      async () =>
        (await d.must("GET", `/api/projects/${projectID}/services/${serviceID}/containers?deployment_id=${first}`, 200)).data.length === 0,
      { timeoutMs: 90_000, intervalMs: 500, what: "the first deployment's containers removed" },
    );
    const api = await d.must("GET", `/api/projects/${projectID}/services/${serviceID}/deployments/${first}/logs?tail=5000`, 200);
    expect(api.source).toBe("kept");
    const kept = await u.run(["logs", "--deployment", first, "--json", "-n", "5000"]);
    expect(kept.code, kept.stderr).toBe(0);
    const lines = kept.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { line: string; ts?: string; stream: string });
    // Every kept line, as the route serves them: the greeter's own output, each with Docker's time.
    expect(lines).toEqual(api.data);
    expect(lines.some((l) => /greeter: serving on 8080|url:\//.test(l.line))).toBe(true);
    expect(lines.every((l) => typeof l.ts === "string" && l.stream === "stdout")).toBe(true);
    // -f cannot follow containers that are gone: it prints the kept lines and ends.
    const follow = await u.run(["logs", "-f", "--deployment", first, "-n", "1"], { timeoutMs: 20_000 });
    expect(follow.code, follow.stderr).toBe(0);
    expect(follow.stdout.trim().split("\n")).toHaveLength(1);
    expect(follow.stderr).toContain("these are the lines kept when they were removed");
    // A window after the removal keeps nothing.
    const none = await u.run(["logs", "--deployment", first, "--since", "1s"]);
    expect([none.code, none.stdout]).toEqual([0, ""]);
  });

  it("redeploy, restart and rollback act on the linked service; open --print and domain list", async () => {
    const svc = () => d.must("GET", `/api/projects/${projectID}/services/${serviceID}`, 200);
    // What serves before the Redeploy is what the rollback below returns to.
    const before = await waitFor(async () => (await svc()).active_deployment_id as string | null, {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: "a deployment active before the redeploy",
    });
    // The image is local and unchanged: Redeploy of an image service deploys only a new digest.
    const re = await u.run(["redeploy", "--json"]);
    expect(re.code, re.stderr).toBe(0);
    const out = JSON.parse(re.stdout) as { deployment?: { id: string }; redeployed?: boolean; message?: string };
    // Either a new deployment (the tag now names another image id) or, for an unchanged image, a
    // message and no deployment; then one is made through the API, to roll back from below.
    if (!out.deployment) expect(out).toMatchObject({ redeployed: false, message: expect.stringMatching(/unchanged/) });
    const dep =
      out.deployment ??
      (await d.must("POST", `/api/projects/${projectID}/services/${serviceID}/deployments`, 201, { body: { image: (await svc()).image } }));
    await waitFor(async () => (await svc()).active_deployment_id === dep?.id && (await svc()).status === "running", {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: "the redeployment active",
    });
    const restart = await u.run(["restart"]);
    expect(restart.code, restart.stderr).toBe(0);
    await waitFor(async () => (await svc()).status === "running", { timeoutMs: 90_000, intervalMs: 500, what: "running after restart" });
    const rb = await u.run(["rollback", "--json"]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(JSON.parse(rb.stdout).deployment_id).toBe(before);
    expect((await u.run(["rollback", "no-such-deployment"])).code).toBe(4);
    const open = await u.run(["open", "--print"]);
    expect(open.stdout.trim()).toBe(`http://127.0.0.1:${hostPort}`);
    const domains = await u.run(["domain", "list", "--json"]);
    expect(domains.code, domains.stderr).toBe(0);
    expect(JSON.parse(domains.stdout).domains).toEqual([]);
  });

  it("rollback right after a Redeploy, while it rolls out, undoes it: back to what serves, the rollout cancelled", async () => {
    const base = `/api/projects/${projectID}/services`;
    const worker = ((await d.must("GET", base, 200)).data as { id: string; name: string }[]).find((s) => s.name === "worker");
    expect(worker).toBeDefined();
    const wsvc = () => d.must("GET", `${base}/${worker?.id}`, 200);
    // The worker has one deployment, serving; a second one starts (no volume: start-first, promoted
    // only after the 10 s stable window, so it is still in flight when the CLI looks).
    const serving = await waitFor(async () => (await wsvc()).active_deployment_id as string | null, {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: "the worker's deployment active",
    });
    const next = await d.must("POST", `${base}/${worker?.id}/deployments`, 201, { body: { image: (await wsvc()).image } });
    const rb = await u.run(["rollback", "--service", "worker", "--json"]);
    // Before the fix the CLI skipped the serving deployment and, finding none earlier, exited 4.
    expect(rb.code, rb.stderr).toBe(0);
    expect(JSON.parse(rb.stdout).deployment_id).toBe(serving);
    expect((await d.must("GET", `${base}/${worker?.id}/deployments/${next.id}`, 200)).status).toBe("cancelled");
  });

  it("variables get of a missing key exits 4; delete stages; completion scripts print", async () => {
    expect((await u.run(["variables", "get", "NOPE"])).code).toBe(4);
    const del = await u.run(["variables", "delete", "EXTRA", "--json"]);
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout).staged[0].op).toBe("env_var.delete");
    for (const sh of ["bash", "zsh", "fish"]) {
      const r = await u.run(["completion", sh]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("variables");
    }
    expect((await u.run(["completion", "tcsh"])).code).toBe(2);
  });

  it("unlink and logout forget the link and the credentials", async () => {
    expect((await u.run(["unlink"])).code).toBe(0);
    expect(existsSync(join(u.cwd, ".deploykit.json"))).toBe(false);
    expect((await u.run(["logout"])).code).toBe(0);
    expect((await u.run(["whoami"])).code).toBe(3);
  });
});
