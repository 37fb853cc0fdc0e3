/**
 * Deploy from source (issue 13) through deploykitd against the real dockerd: a repository on a real
 * git server (smart HTTP), built with BuildKit, served through the readiness gate; the cache on a
 * second build; a failing build failing its deployment while the old one serves; webhooks; uploads;
 * refusals of unsafe sources.
 */
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon, freePort } from "../harness/daemon.ts";
import { PYTHON_IMAGE } from "../harness/images.ts";
import { waitFor } from "../harness/wait.ts";
import { GitServer } from "./gitserver.ts";

const docker = new Docker();
const git = new GitServer();
let d: Daemon;
let projectID = "";
let serviceID = "";
let hostPort = 0;

/** Unique per run, so the first build of the slow step is cold even on a daemon that built it before. */
const NONCE = `${process.pid}-${Date.now()}`;

const dockerfile = (slow: boolean) =>
  [
    "FROM deploykit-test/busybox:1",
    // A step worth caching: the second build of the same tree must skip it.
    slow ? `RUN sleep 5 && echo ${NONCE} > /prepared` : "RUN echo prepared > /prepared",
    "COPY index.html /www/index.html",
    'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
    "",
  ].join("\n");

async function page(): Promise<string | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${hostPort}/index.html`, { signal: AbortSignal.timeout(2000) });
    return r.status === 200 ? (await r.text()).trim() : null;
  } catch {
    return null;
  }
}

const base = () => `/api/projects/${projectID}/services/${serviceID}`;

async function deployment(id: string, at = base()) {
  return d.must("GET", `${at}/deployments/${id}`, 200);
}

/** Waits for a deployment of the main service (or of the service at `at`) to serve, fail or be cancelled. */
async function settled(id: string, timeoutMs = 180_000, at = base()) {
  return waitFor(
    async () => {
      const dep = await deployment(id, at);
      return dep.phase === "serving" || dep.phase === "failed" || dep.phase === "cancelled" ? dep : null;
    },
    { timeoutMs, intervalMs: 250, what: `deployment ${id} settled` },
  );
}

function spanSeconds(dep: { phases: { name: string; started_at: string; ended_at: string | null }[] }, name: string): number {
  const p = dep.phases.find((x) => x.name === name);
  if (!p?.ended_at) return Number.NaN;
  return (Date.parse(p.ended_at) - Date.parse(p.started_at)) / 1000;
}

function githubSignature(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

beforeAll(async () => {
  await git.start();
  d = await Daemon.start({ reconcileInterval: "2s", args: ["-stable-window", "1s"], env: { DEPLOYKIT_TEST_KEEP_BUILD_CACHE: "1" } });
}, 60_000);

afterAll(async () => {
  await d?.stop();
  const id = d?.instanceID();
  if (id) {
    const label = [`deploykit.instance=${id}`];
    for (const x of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(x.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters: { label } })) await docker.getNetwork(n.Id).remove();
    for (const img of await docker.listImages({ filters: { label } }))
      await docker
        .getImage(img.Id)
        .remove({ force: true })
        .catch(() => {});
  }
  await d?.destroy();
  await git.stop();
});

describe("deploy from source", () => {
  it("refuses unsafe sources with field errors", async () => {
    const project = await d.must("POST", "/api/projects", 201, { body: { name: "Builds refusals" } });
    for (const [field, value] of [
      ["repo_url", "ext::sh -c touch% /tmp/pwned"],
      ["repo_url", "file:///etc"],
      ["repo_url", "-uhttps://example.com/x.git"],
      ["branch", "--upload-pack=touch /tmp/x"],
      ["branch", "main..other"],
      ["root_dir", "../outside"],
      ["dockerfile_path", "/etc/passwd"],
      ["dockerfile_path", "app/../../Dockerfile"],
    ] as const) {
      const r = await d.request("POST", `/api/projects/${project.id}/services`, {
        body: { name: "x", repo_url: "https://example.com/a.git", [field]: value },
      });
      expect(r.status, `${field}=${value}`).toBe(422);
      expect(Object.keys((r.body as { errors: object }).errors)).toContain(field);
    }
  });

  it("builds the branch head with BuildKit, serves it, and caches the second build", async () => {
    const sha = git.commit({ Dockerfile: dockerfile(true), "index.html": "hello-v1\n" }, "first version");
    const project = await d.must("POST", "/api/projects", 201, { body: { name: "Builds" } });
    projectID = project.id;
    hostPort = await freePort();
    const staged = await d.must("POST", `/api/projects/${projectID}/services`, 201, {
      body: { name: "site", repo_url: git.url, ports: [{ container_port: 8080, host_port: hostPort }] },
    });
    expect(staged.payload.repo_url).toBe(git.url);
    const applied = await d.must("POST", `/api/projects/${projectID}/deploy`, 200);
    serviceID = applied.temp_id_to_service_id[staged.target_temp_id];
    const first = applied.created_deployments[0];
    expect(first.phase).toBe("queued");
    expect(first.image).toBe(`dk-build/${serviceID}:${first.id}`);

    const done = await settled(first.id);
    expect(done.failure_reason ?? null).toBeNull();
    expect(done.phase).toBe("serving");
    expect(done.commit_sha).toBe(sha);
    expect(done.commit_message).toBe("first version");
    expect(done.phases.map((p: { name: string }) => p.name)).toEqual([
      "queued",
      "cloning",
      "building",
      "starting",
      "health_check",
      "serving",
    ]);
    await waitFor(async () => (await page()) === "hello-v1", { timeoutMs: 30_000, what: "hello-v1 served" });

    // The stored build log, read through the SSE route after the build.
    const log = await d.request("GET", `${base()}/deployments/${first.id}/build-logs`);
    expect(log.status).toBe(200);
    expect(log.text).toContain('"stream":"build"');
    expect(log.text).toContain("RUN sleep 5");
    expect(log.text).toContain("event: end");

    // Redeploy rebuilds the unchanged head: every step comes from the cache.
    const again = await d.must("POST", `${base()}/redeploy`, 201);
    const second = await settled(again.id);
    expect(second.phase).toBe("serving");
    const t1 = spanSeconds(done, "building");
    const t2 = spanSeconds(second, "building");
    const log2 = (await d.request("GET", `${base()}/deployments/${again.id}/build-logs`)).text;
    expect(log2).toContain("CACHED");
    console.log(`[bench] build cache: first build ${t1.toFixed(2)} s, second build ${t2.toFixed(2)} s, ratio ${(t2 / t1).toFixed(3)}`);
    expect(t2).toBeLessThan(t1);
  }, 400_000);

  it("fails a broken build with its log tail while the serving deployment keeps serving", async () => {
    git.commit({ Dockerfile: `${dockerfile(false)}RUN echo about-to-fail && exit 3\n` }, "broken build");
    const secret = (await d.must("GET", `${base()}/webhook`, 200)).secret as string;
    const body = JSON.stringify({ ref: "refs/heads/main", after: "0".repeat(40) });
    const r = await d.request("POST", `/api/webhooks/${serviceID}`, {
      raw: body,
      token: null,
      headers: { "content-type": "application/json", "x-hub-signature-256": githubSignature(body, secret), "x-github-event": "push" },
    });
    expect(r.status).toBe(201);
    const failed = await settled((r.body as { id: string }).id);
    expect(failed.status).toBe("failed");
    expect(failed.failure_reason).toMatch(/^build failed while building: /);
    expect(failed.log_tail).toContain("about-to-fail");
    expect(failed.phases.map((p: { name: string }) => p.name)).toEqual(["queued", "cloning", "building", "failed"]);
    await waitFor(async () => (await page()) === "hello-v1", { timeoutMs: 20_000, what: "hello-v1 still served" });
    const svc = await d.must("GET", base(), 200);
    expect(svc.status).toBe("running");
  }, 300_000);

  it("verifies webhook signatures and ignores other branches", async () => {
    const secret = (await d.must("GET", `${base()}/webhook`, 200)).secret as string;
    const body = JSON.stringify({ ref: "refs/heads/main" });
    const post = (headers: Record<string, string>, raw = body) =>
      d.request("POST", `/api/webhooks/${serviceID}`, { raw, token: null, headers: { "content-type": "application/json", ...headers } });
    expect((await post({})).status).toBe(401);
    expect((await post({ "x-hub-signature-256": githubSignature(body, "wrong") })).status).toBe(401);
    expect((await post({ "x-gitlab-token": "wrong" })).status).toBe(401);
    expect((await post({ "x-gitea-signature": "00" })).status).toBe(401);
    expect(d.log()).toContain("webhook refused");
    const other = JSON.stringify({ ref: "refs/heads/feature" });
    const ignored = await post({ "x-gitlab-token": secret }, other);
    expect(ignored.status).toBe(202);
    expect((ignored.body as { message: string }).message).toContain("ignored");

    // A fixed commit, announced Gitea-style, deploys and serves.
    git.commit({ Dockerfile: dockerfile(false), "index.html": "hello-v2\n" }, "second version");
    const hmac = createHmac("sha256", secret).update(body).digest("hex");
    const r = await post({ "x-gitea-signature": hmac });
    expect(r.status).toBe(201);
    expect((await settled((r.body as { id: string }).id)).phase).toBe("serving");
    await waitFor(async () => (await page()) === "hello-v2", { timeoutMs: 30_000, what: "hello-v2 served" });
  }, 300_000);

  it("builds an uploaded gzip tarball and refuses an unsafe one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dk-upload-"));
    try {
      writeFileSync(join(dir, "Dockerfile"), dockerfile(false));
      writeFileSync(join(dir, "index.html"), "from-upload\n");
      const good = join(dir, "good.tar.gz");
      await tar.c({ gzip: true, cwd: dir, file: good }, ["Dockerfile", "index.html"]);
      const r = await d.request("POST", `${base()}/uploads`, { raw: readFileSync(good), headers: { "content-type": "application/gzip" } });
      expect(r.status, r.text).toBe(201);
      expect((await settled((r.body as { id: string }).id)).phase).toBe("serving");
      await waitFor(async () => (await page()) === "from-upload", { timeoutMs: 30_000, what: "upload served" });

      // An entry that walks out of the tree ('..'): the whole upload is refused at extraction.
      const bad = join(dir, "bad.tar.gz");
      mkdirSync(join(dir, "sub"));
      await tar.c({ gzip: true, cwd: join(dir, "sub"), file: bad, preservePaths: true }, ["../Dockerfile"]);
      const r2 = await d.request("POST", `${base()}/uploads`, { raw: readFileSync(bad), headers: { "content-type": "application/gzip" } });
      expect(r2.status).toBe(201);
      const failed = await settled((r2.body as { id: string }).id);
      expect(failed.failure_reason).toContain("unsafe upload");
      // Still serving (retried: one request may time out on a loaded host).
      await waitFor(async () => (await page()) === "from-upload", { timeoutMs: 20_000, what: "upload still served" });

      const notGzip = await d.request("POST", `${base()}/uploads`, { raw: "plain text", headers: { "content-type": "application/gzip" } });
      expect(notGzip.status).toBe(400);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it("cancels a running build when a newer deploy of the service comes", async () => {
    git.commit(
      {
        Dockerfile: `FROM deploykit-test/busybox:1\nRUN sleep 30 && echo ${NONCE}-slow > /slow\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
        "index.html": "hello-v3\n",
      },
      "slow build",
    );
    const older = await d.must("POST", `${base()}/redeploy`, 201);
    await waitFor(async () => (await deployment(older.id)).phase === "building", { timeoutMs: 60_000, what: "older build running" });
    const t0 = Date.now();
    const newer = await d.must("POST", `${base()}/redeploy`, 201);
    const cancelled = await settled(older.id, 30_000);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.phase).toBe("cancelled");
    expect(Date.now() - t0).toBeLessThan(25_000);
    await waitFor(async () => (await d.request("GET", `${base()}/deployments/${older.id}/build-logs`)).text.includes("cancelled"), {
      timeoutMs: 30_000,
      what: "older build log says cancelled",
    });
    expect((await settled(newer.id)).phase).toBe("serving");
    await waitFor(async () => (await page()) === "hello-v3", { timeoutMs: 30_000, what: "hello-v3 served" });

    // images_kept: only the newest usable deployments' images stay (here 2: the serving one and the one before).
    const tags = async () =>
      (await docker.listImages({ filters: { label: [`deploykit.build.service=${serviceID}`] } }))
        .flatMap((i) => i.RepoTags ?? [])
        .filter((t) => t.startsWith(`dk-build/${serviceID}:`));
    expect((await tags()).length).toBeGreaterThan(2);
    await d.must("PATCH", "/api/settings", 200, { body: { images_kept: 2 } });
    const latest = await d.must("POST", `${base()}/redeploy`, 201);
    expect((await settled(latest.id)).phase).toBe("serving");
    await waitFor(async () => (await tags()).length <= 3, { timeoutMs: 30_000, what: "older built images pruned" });
    expect(await tags()).toContain(`dk-build/${serviceID}:${latest.id}`);
  }, 400_000);

  it("clones a private repository with the stored token; deploy keys are generated and only their public half is shown", async () => {
    const priv = new GitServer();
    await priv.start();
    try {
      priv.token = "tok-" + NONCE;
      priv.commit({ Dockerfile: dockerfile(false), "index.html": "private\n" }, "private repo");
      const project = await d.must("POST", "/api/projects", 201, { body: { name: "Private" } });
      const port = await freePort();
      const staged = await d.must("POST", `/api/projects/${project.id}/services`, 201, {
        body: { name: "priv", repo_url: priv.url, ports: [{ container_port: 8080, host_port: port }] },
      });
      // Without the token the clone is refused and the deployment fails while cloning.
      const applied = await d.must("POST", `/api/projects/${project.id}/deploy`, 200);
      const sid = applied.temp_id_to_service_id[staged.target_temp_id];
      const denied = await waitFor(
        async () => {
          const dep = await d.must(
            "GET",
            `/api/projects/${project.id}/services/${sid}/deployments/${applied.created_deployments[0].id}`,
            200,
          );
          return dep.phase === "failed" ? dep : null;
        },
        { timeoutMs: 120_000, what: "clone refused" },
      );
      expect(denied.failure_reason).toMatch(/^build failed while cloning: /);

      const bad = await d.request("PUT", `/api/projects/${project.id}/services/${sid}/git-token`, { body: { token: "has space" } });
      expect(bad.status).toBe(422);
      expect(
        (await d.request("PUT", `/api/projects/${project.id}/services/${sid}/git-token`, { body: { token: priv.token } })).status,
      ).toBe(204);
      const svc = await d.must("GET", `/api/projects/${project.id}/services/${sid}`, 200);
      expect(JSON.stringify(svc)).not.toContain(priv.token);
      const again = await d.must("POST", `/api/projects/${project.id}/services/${sid}/redeploy`, 201);
      const ok = await waitFor(
        async () => {
          const dep = await d.must("GET", `/api/projects/${project.id}/services/${sid}/deployments/${again.id}`, 200);
          return dep.phase === "serving" || dep.phase === "failed" ? dep : null;
        },
        { timeoutMs: 180_000, what: "private build served" },
      );
      expect(ok.failure_reason ?? null).toBeNull();
      const log = await d.request("GET", `/api/projects/${project.id}/services/${sid}/deployments/${again.id}/build-logs`);
      expect(log.text).not.toContain(priv.token);

      const key = await d.must("POST", `/api/projects/${project.id}/services/${sid}/deploy-key`, 201);
      expect(key.public_key).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+ deploykit-priv$/);
      expect(JSON.stringify(key)).not.toContain("PRIVATE KEY");
    } finally {
      await priv.stop();
    }
  }, 400_000);

  it("builds a Python app with no Dockerfile (requirements.txt and a Procfile) on the local Python base, and serves it", async () => {
    const py = new GitServer();
    await py.start();
    try {
      await d.must("PATCH", "/api/settings", 200, { body: { build_base_python: PYTHON_IMAGE } });
      // The standard library only: containers reach no Python package index here.
      const sha = py.commit(
        {
          "requirements.txt": "# the standard library is enough\n",
          Procfile: "web: python app.py\n",
          "app.py": [
            "import os, sys",
            "from http.server import BaseHTTPRequestHandler, HTTPServer",
            "",
            "class Hello(BaseHTTPRequestHandler):",
            "    def do_GET(self):",
            "        body = f\"python {sys.version_info[0]} ok on {os.environ['PORT']}\\n\".encode()",
            "        self.send_response(200)",
            '        self.send_header("Content-Length", str(len(body)))',
            "        self.end_headers()",
            "        self.wfile.write(body)",
            "",
            'HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Hello).serve_forever()',
            "",
          ].join("\n"),
        },
        "python app",
      );
      const project = await d.must("POST", "/api/projects", 201, { body: { name: "Python" } });
      const port = await freePort();
      const staged = await d.must("POST", `/api/projects/${project.id}/services`, 201, {
        body: { name: "py", repo_url: py.url, ports: [{ container_port: 8000, host_port: port }] },
      });
      const applied = await d.must("POST", `/api/projects/${project.id}/deploy`, 200);
      const at = `/api/projects/${project.id}/services/${applied.temp_id_to_service_id[staged.target_temp_id]}`;
      const dep = await settled(applied.created_deployments[0].id, 300_000, at);
      expect(dep.failure_reason ?? null).toBeNull();
      expect(dep.phase).toBe("serving");
      expect(dep.commit_sha).toBe(sha);
      const log = (await d.request("GET", `${at}/deployments/${dep.id}/build-logs`)).text;
      expect(log).toContain("detected a python app");
      expect(log).toContain(`FROM ${PYTHON_IMAGE}`);
      expect(log).toContain("pip install -r requirements.txt");
      const body = await waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
          return r?.ok ? r.text() : null;
        },
        { timeoutMs: 30_000, what: "the Python app answering" },
      );
      expect(body).toBe("python 3 ok on 8000\n");
    } finally {
      await py.stop();
    }
  }, 400_000);
});
