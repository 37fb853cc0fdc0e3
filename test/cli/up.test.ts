/**
 * `deploykit up` end to end: the built CLI tars a directory with a Dockerfile, uploads it to a real
 * daemon (`POST …/uploads`, from the builds work), follows the build log and the rollout, and exits
 * 0 once the service answers; a failing build exits non-zero with the reason printed.
 *
 * NEEDS the upload route, the build-logs SSE and the deployment `phase` of the builds branch: this
 * file fails on a daemon without them (on purpose — it is not skipped).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon, freePort } from "../harness/daemon.ts";
import { CliUser, ensureBuilt } from "./harness.ts";

const BASE = "deploykit-test/busybox:1";
let d: Daemon;
let u: CliUser;
let hostPort = 0;

beforeAll(async () => {
  ensureBuilt();
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  d = await Daemon.start({ reconcileInterval: "2s" });
  u = new CliUser();
  const key = (await d.must("POST", "/api/api-keys", 201, { body: { description: "up test" } })).token;
  u.env = { DEPLOYKIT_URL: d.url, DEPLOYKIT_TOKEN: key };
  const project = await d.must("POST", "/api/projects", 201, { body: { name: "Up" } });
  hostPort = await freePort();
  await d.must("POST", `/api/projects/${project.id}/services`, 201, {
    body: { name: "site", image: BASE, ports: [{ container_port: 8080, host_port: hostPort }] },
  });
  await d.must("POST", `/api/projects/${project.id}/deploy`, 200);
  expect((await u.run(["link", "--project", "Up", "--service", "site"])).code).toBe(0);
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

function source(dir: string, dockerfile: string, files: Record<string, string> = {}): string {
  const root = join(u.cwd, dir);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "Dockerfile"), dockerfile);
  for (const [p, text] of Object.entries(files)) writeFileSync(join(root, p), text);
  return root;
}

describe("deploykit up", () => {
  it("uploads a directory with a Dockerfile, streams the build, exits 0 once it serves", async () => {
    source("ok", `FROM ${BASE}\nCOPY index.html /www/index.html\nRUN echo built-by-up\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`, {
      "index.html": "hello from up\n",
      ".gitignore": "secret.txt\n",
      "secret.txt": "never uploaded\n",
    });
    const r = await u.run(["up", "ok", "--json"], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const kinds = events.map((e) => e.event);
    expect(kinds).toContain("uploaded");
    expect(kinds).toContain("build_log");
    expect(kinds.at(-1)).toBe("healthy");
    expect(events.some((e) => e.event === "build_log" && String(e.line).includes("built-by-up"))).toBe(true);
    const res = await fetch(`http://127.0.0.1:${hostPort}/`);
    expect((await res.text()).trim()).toBe("hello from up");
    expect((await fetch(`http://127.0.0.1:${hostPort}/secret.txt`)).status).toBe(404);
  }, 320_000);

  it("a failing build exits non-zero and prints the reason", async () => {
    source("broken", `FROM ${BASE}\nRUN echo about-to-fail && exit 3\n`);
    const r = await u.run(["up", "broken"], { timeoutMs: 300_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("about-to-fail");
    expect(r.stderr).toMatch(/error: Deployment \S+ failed: .+/);
  }, 320_000);

  it("--detach returns after the upload with the deployment id", async () => {
    const r = await u.run(["up", "ok", "--detach"], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\S+$/);
  }, 150_000);
});
