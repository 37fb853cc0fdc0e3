/**
 * End to end, issue 13: deploy from a git repository in Chromium, watch the build log live, open the
 * service; push a commit, fire the webhook, and see the new deployment serve the new content; as the
 * admin, generate a deploy key in the Source card (its public half shown once) and store a token.
 *   node test/e2e/builds.e2e.ts  (alone; builds the SPA first if dist/public is missing)
 *
 * The git server is the repository served over HTTP with git's "dumb" protocol (a bare repository
 * after `git update-server-info`) by a static file server in this process, on the Docker bridge's
 * gateway address: reachable from the daemon on the host and from build containers alike (the dumb
 * protocol has no shallow clones: the daemon clones the branch in full, src/build/git.ts). The app is
 * a static site (index.html, no Dockerfile): DeployKit detects it and builds FROM the busybox test
 * image (`build_base_static`), so no registry is needed.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { after, before, test } from "node:test";
import { gunzipSync } from "node:zlib";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { makeZip } from "../harness/zip.ts";
import { BASE_IMAGE, type Daemon, ensureSPA, freePort, launchBrowser, outDir, removeDockerObjects, sh, startDaemon } from "./env.ts";

const ADMIN = { name: "Bea Builder", email: "bea@e2e.test", password: "correct-horse-42" };
const BUILD_TIMEOUT = 180_000;

let daemon: Daemon;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let git: Server;
let gitDir = "";
let repoURL = "";
let instanceID = "";
let projectID = "";
let serviceID = "";
let publicPort = 0;
const consoleErrors: string[] = [];

/** The bridge's gateway: the host as containers see it (the daemon, on the host, reaches it too). */
function bridgeGateway(): string {
  const out = sh("docker", ["network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}"]).trim();
  return out || "172.17.0.1";
}

function gitc(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "E2E",
      GIT_AUTHOR_EMAIL: "e2e@test",
      GIT_COMMITTER_NAME: "E2E",
      GIT_COMMITTER_EMAIL: "e2e@test",
    },
  }).trim();
}

/** Commits index.html saying `text` and pushes it to the served bare repository; returns the SHA. */
function pushSite(text: string, message: string): string {
  const work = join(gitDir, "work");
  writeFileSync(join(work, "index.html"), `<h1>${text}</h1>\n`);
  gitc(work, "add", "-A");
  gitc(work, "commit", "-q", "-m", message);
  gitc(work, "push", "-q", "origin", "HEAD:main");
  gitc(join(gitDir, "app.git"), "update-server-info");
  return gitc(work, "rev-parse", "HEAD");
}

async function token(): Promise<string> {
  return (await page.evaluate(() => localStorage.getItem("access_token"))) ?? "";
}

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(`${daemon.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${await token()}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (r.headers.get("content-type")?.includes("json") ? await r.json() : null) as T };
}

interface Dep {
  id: string;
  status: string;
  phase?: string;
  commit_sha?: string;
  failure_reason?: string;
  log_tail?: string;
}

async function deployments(): Promise<Dep[]> {
  return (await api<{ data: Dep[] }>("GET", `/api/projects/${projectID}/services/${serviceID}/deployments`)).body.data;
}

async function waitUntil<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeout = BUILD_TIMEOUT): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const ds = await deployments().catch(() => []);
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}\n${JSON.stringify(ds, null, 1).slice(0, 3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function servedText(): Promise<string | null> {
  const r = await fetch(`http://127.0.0.1:${publicPort}/`).catch(() => null);
  return r?.ok ? r.text() : null;
}

before(async () => {
  gitDir = mkdtempSync(join(tmpdir(), "dk-e2e-git-"));
  gitc(gitDir, "init", "-q", "--bare", "-b", "main", "app.git");
  const work = join(gitDir, "work");
  mkdirSync(work);
  gitc(work, "init", "-q", "-b", "main");
  gitc(work, "remote", "add", "origin", join(gitDir, "app.git"));
  pushSite("version one", "First version");
  const root = join(gitDir, "app.git");
  git = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^\/app\.git\/?/, "");
    const file = join(root, path);
    if (!file.startsWith(root) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "application/octet-stream" }).end(readFileSync(file));
  });
  const gitPort = await freePort();
  const host = bridgeGateway();
  await new Promise<void>((r) => git.listen(gitPort, host, r));
  repoURL = `http://${host}:${gitPort}/app.git`;

  daemon = await startDaemon(ensureSPA());
  browser = await launchBrowser();
  ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await ctx.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.setDefaultTimeout(15_000);
  publicPort = await freePort();
});

after(async () => {
  await ctx?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await daemon?.stop().catch(() => {});
  git?.close();
  if (instanceID) {
    const left = removeDockerObjects(instanceID);
    if (left.length) console.log(`# cleanup removed leftovers: ${left.join(", ")}`);
  }
  rmSync(gitDir, { recursive: true, force: true });
  if (consoleErrors.length) console.log(`# browser console errors:\n${consoleErrors.map((e) => `#   ${e}`).join("\n")}`);
});

test("setup, a project, and build base images pointing at local images", async () => {
  const setupToken = readFileSync(join(daemon.dataDir, "setup-token"), "utf8").trim();
  await page.goto(`${daemon.url}/setup?token=${setupToken}`);
  await page.getByRole("button", { name: "Get started" }).click();
  await page.getByLabel("Name").fill(ADMIN.name);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/projects$/);
  instanceID = (await api<{ deploykit: { instance_id: string } }>("GET", "/api/system/about")).body.deploykit.instance_id;

  // The admin card: the static base is the busybox test image (busybox:1.37 would need a registry).
  await page.goto(`${daemon.url}/settings`);
  const card = page.getByTestId("build-bases");
  await card.getByLabel("Static / runtime").fill(BASE_IMAGE);
  await card.getByRole("button", { name: "Save" }).click();
  await page.getByText("Settings saved").waitFor();
  const s = await api<{ build_base_static: string }>("GET", "/api/settings");
  assert.equal(s.body.build_base_static, BASE_IMAGE);

  await page.goto(`${daemon.url}/projects`);
  await page.getByText("Create your first project").click();
  await page.getByLabel("Name").fill("Sites");
  await page.getByRole("button", { name: "Create project" }).click();
  await page.waitForURL(/\/projects\/[0-9a-f-]+$/);
  projectID = page.url().split("/").pop() as string;
  await page.getByTestId("canvas-status").filter({ hasText: "Live" }).waitFor();
});

test("connect a repository in the Source card, Deploy, watch the build log live, open the service", async () => {
  await page.locator(".react-flow__pane").click({ button: "right", position: { x: 360, y: 220 } });
  await page.getByRole("menuitem", { name: "Add Service" }).click();
  const draft = page.getByTestId("service-draft");
  await draft.getByLabel("Name").fill("site");
  await draft.getByLabel("Image").fill(BASE_IMAGE);
  await draft.getByLabel("Container port").fill("8080");
  await draft.getByLabel("Public port").fill(String(publicPort));
  await draft.getByRole("button", { name: "Create" }).click();
  const node = page.locator('[data-testid=service-node][data-service-name="site"]');
  await node.waitFor();
  // Deploy the create first: the Source card is on an existing service's Settings tab.
  await page.getByTestId("pending-bar").getByRole("button", { name: "Deploy" }).click();
  await page.getByTestId("pending-bar").waitFor({ state: "detached" });
  const svcs = await api<{ data: { id: string; name: string }[] }>("GET", `/api/projects/${projectID}/services`);
  serviceID = svcs.body.data.find((s) => s.name === "site")?.id ?? "";
  assert.ok(serviceID);

  await node.click();
  const panel = page.getByTestId("service-panel");
  await panel.getByRole("tab", { name: "Settings" }).click();
  const source = panel.getByTestId("source-card");
  await source.getByLabel("Repository").fill(repoURL);
  await source.getByLabel("Branch").fill("main");
  await page.screenshot({ path: join(outDir(), "builds-00-source-card.png") });
  await source.getByRole("button", { name: "Stage source" }).click();
  await page.getByText("Source staged").waitFor();
  await page.getByTestId("pending-bar").getByRole("button", { name: "Deploy" }).click();
  await page.getByTestId("pending-bar").waitFor({ state: "detached" });

  await panel.getByRole("tab", { name: "Deployments" }).click();
  // The build log streams while the deployment builds: lines show before it is healthy.
  const live = panel.locator("[data-testid=build-log][data-live=true] pre");
  await waitUntil("live build log lines", async () => ((await live.textContent().catch(() => "")) ?? "").trim().length > 0);
  await page.screenshot({ path: join(outDir(), "builds-01-live-log.png") });
  await panel.getByTestId("phase-timeline").first().waitFor();

  await waitUntil("the built deployment to serve", async () => (await servedText())?.includes("version one"));
  // The new container answers before the readiness gate has passed it: healthy follows.
  const d = await waitUntil("the built deployment to be healthy", async () => {
    const [latest] = await deployments();
    return latest?.status === "healthy" && latest;
  });
  assert.match(d?.commit_sha ?? "", /^[0-9a-f]{40}$/);
  await panel.getByTestId("commit").filter({ hasText: "First version" }).waitFor();
  await page.screenshot({ path: join(outDir(), "builds-02-serving.png") });
});

test("push a commit, fire the webhook, and the new deployment serves the new content", async () => {
  const hook = await api<{ url: string; secret: string }>("GET", `/api/projects/${projectID}/services/${serviceID}/webhook`);
  assert.equal(hook.status, 200);
  const sha = pushSite("version two", "Second version");
  const body = JSON.stringify({
    ref: "refs/heads/main",
    after: sha,
    repository: { clone_url: repoURL },
    head_commit: { id: sha, message: "Second version" },
  });
  const sign = (secret: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  // The URL may name the daemon's public address: send it to this daemon, same path.
  const u = new URL(hook.body.url, daemon.url);
  const target = `${daemon.url}${u.pathname}${u.search}`;
  const headers = { "Content-Type": "application/json", "X-GitHub-Event": "push" };
  const bad = await fetch(target, { method: "POST", headers: { ...headers, "X-Hub-Signature-256": sign("wrong") }, body });
  assert.equal(bad.status, 401, "a mismatched signature is refused");
  const other = JSON.stringify({ ref: "refs/heads/feature", after: sha });
  const ignored = await fetch(target, {
    method: "POST",
    headers: { ...headers, "X-Hub-Signature-256": `sha256=${createHmac("sha256", hook.body.secret).update(other).digest("hex")}` },
    body: other,
  });
  assert.equal(ignored.status, 202, "another branch is ignored");
  const ok = await fetch(target, { method: "POST", headers: { ...headers, "X-Hub-Signature-256": sign(hook.body.secret) }, body });
  assert.ok(ok.status >= 200 && ok.status < 300, `webhook accepted (${ok.status})`);

  await waitUntil("the pushed commit to serve", async () => (await servedText())?.includes("version two"));
  const [d] = await deployments();
  assert.equal(d?.commit_sha, sha);
  const panel = page.getByTestId("service-panel");
  await panel
    .getByTestId("commit")
    .filter({ hasText: sha.slice(0, 7) })
    .first()
    .waitFor();
  await page.screenshot({ path: join(outDir(), "builds-03-webhook.png") });
});

test("a .zip chosen on the Deployments tab is converted in Chromium and uploaded as a gzip tarball, then served", async () => {
  const panel = page.getByTestId("service-panel");
  if (!(await panel.isVisible())) await page.locator('[data-testid=service-node][data-service-name="site"]').click();
  await panel.getByRole("tab", { name: "Deployments" }).click();
  const zip = makeZip([{ name: "site-main/" }, { name: "site-main/index.html", data: "<h1>version zip</h1>\n", deflate: true }]);
  let sent: Buffer | null = null;
  let type = "";
  await page.route("**/uploads", async (route) => {
    sent = route.request().postDataBuffer();
    type = route.request().headers()["content-type"] ?? "";
    await route.continue();
  });
  await panel
    .getByTestId("source-file")
    .setInputFiles({ name: "site.zip", mimeType: "application/zip", buffer: Buffer.from(await zip.arrayBuffer()) });
  await waitUntil("the upload request", async () => sent, 30_000);
  assert.equal(type, "application/gzip");
  // A ustar archive whose first entry is index.html at the root (the single top folder is the root).
  const tarball = gunzipSync(sent as unknown as Buffer);
  assert.equal(tarball.subarray(257, 262).toString(), "ustar");
  assert.equal(tarball.subarray(0, 10).toString(), "index.html");
  await page.unroute("**/uploads");
  await page.getByText("Upload received: building").waitFor({ timeout: 30_000 });
  await waitUntil("the uploaded site to serve", async () => (await servedText())?.includes("version zip"));
});

test("Redeploy rebuilds the branch head", async () => {
  const before = (await deployments()).length;
  const panel = page.getByTestId("service-panel");
  if (!(await panel.isVisible())) await page.locator('[data-testid=service-node][data-service-name="site"]').click();
  await panel.getByRole("tab", { name: "Deployments" }).click();
  await panel.getByTestId("source-drop").waitFor();
  await page.screenshot({ path: join(outDir(), "builds-04-deployments-tab.png") });
  await panel.getByRole("button", { name: "Redeploy" }).click();
  await page.getByText("Redeploy started").waitFor();
  await waitUntil("the redeploy to be healthy", async () => {
    const ds = await deployments();
    return ds.length > before && ds[0]?.status === "healthy";
  });
  // The old container is stopped once the new one is healthy: the port may answer the old content
  // or refuse for a moment.
  const first = await servedText();
  await waitUntil("the branch head to serve again", async () => (await servedText())?.includes("version two"), 60_000);
  if (!first?.includes("version two")) console.log(`# right after healthy the port served ${JSON.stringify(first)}`);
});

test("an admin generates a deploy key in the Source card and sees its public half once; a token is saved and removed", async () => {
  const panel = page.getByTestId("service-panel");
  if (!(await panel.isVisible())) await page.locator('[data-testid=service-node][data-service-name="site"]').click();
  await panel.getByRole("tab", { name: "Settings" }).click();
  const priv = panel.getByTestId("private-repo");
  await priv.locator("summary").click();
  await priv.getByRole("button", { name: "Generate deploy key" }).click();
  // It may replace a key the service has: a confirmation first.
  await page.getByRole("dialog").getByRole("button", { name: "Generate" }).click();
  const key = priv.getByTestId("deploy-public-key");
  await key.waitFor();
  assert.match((await key.textContent()) ?? "", /^ssh-ed25519 [A-Za-z0-9+/=]+ deploykit-site$/);
  await page.getByText("Deploy key generated").waitFor();
  await priv.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(outDir(), "builds-05-deploy-key.png") });

  const secret = `e2e-token-${Date.now()}`;
  await priv.getByLabel("Access token").fill(secret);
  await priv.getByRole("button", { name: "Save token" }).click();
  await page.getByText("Access token saved").waitFor();
  assert.equal(await priv.getByLabel("Access token").inputValue(), "", "the field is cleared once stored");
  const svc = await api<unknown>("GET", `/api/projects/${projectID}/services/${serviceID}`);
  assert.ok(!JSON.stringify(svc.body).includes(secret), "the token is never returned");
  await priv.getByRole("button", { name: "Remove" }).click();
  // Removing breaks private https clones: a confirmation first.
  await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
  await page.getByText("Access token removed").waitFor();
});
