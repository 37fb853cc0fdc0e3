/**
 * End-to-end suite: a real deploykitd and dockerd driven through Debian's Chromium.
 *   node test/e2e/run.ts            (builds the SPA first if dist/public is missing)
 * Screenshots of the main screens land in test-results/e2e/*.png.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  type Daemon,
  dockerCount,
  ensureImages,
  ensureSPA,
  freePort,
  launchBrowser,
  outDir,
  removeDockerObjects,
  sh,
  startDaemon,
} from "./env.ts";

const ADMIN = { name: "Ada Admin", email: "ada@e2e.test", password: "correct-horse-42" };
const MEMBER = { name: "Max Member", email: "max@e2e.test", password: "member-pass-42" };
const PROJECT = "Storefront";
const GREETING = "hello-from-e2e";
const DEPLOY_TIMEOUT = 90_000;

let daemon: Daemon;
let browser: Browser;
let admin: Page;
let adminCtx: BrowserContext;
let memberCtx: BrowserContext | null = null;
let instanceID = "";
let projectID = "";
let image = "";
let publicPort = 0;
let publicURL = "";
const consoleErrors: string[] = [];
/** Settles when the container restarted from the canvas menu runs again (checked by a later test). */
let restartDone: Promise<void> | null = null;

async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: join(outDir(), `${name}.png`), fullPage });
}

async function token(page: Page): Promise<string> {
  return (await page.evaluate(() => localStorage.getItem("access_token"))) ?? "";
}

async function apiGet<T>(page: Page, path: string): Promise<{ status: number; body: T }> {
  const r = await fetch(`${daemon.url}${path}`, { headers: { Authorization: `Bearer ${await token(page)}` } });
  return { status: r.status, body: (r.headers.get("content-type")?.includes("json") ? await r.json() : null) as T };
}

async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeout = DEPLOY_TIMEOUT,
  explain?: () => Promise<string>,
): Promise<T> {
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
      const detail = explain ? await explain().catch((e) => String(e)) : "";
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}${detail ? `\n${detail}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

interface Dep {
  id: string;
  status: string;
  failure_reason?: string;
  exit_code?: number;
  log_tail?: string;
  env_vars: Record<string, string>;
  created_at: string;
}
interface Svc {
  id: string;
  name: string;
  status: string;
  active_deployment_id: string | null;
}

async function services(page: Page): Promise<Svc[]> {
  return (await apiGet<{ data: Svc[] }>(page, `/api/projects/${projectID}/services`)).body.data;
}

async function deployments(page: Page, sid: string): Promise<Dep[]> {
  return (await apiGet<{ data: Dep[] }>(page, `/api/projects/${projectID}/services/${sid}/deployments`)).body.data;
}

/** What the service and its deployments look like, for timeout messages. */
async function explainService(page: Page): Promise<string> {
  const out: string[] = [];
  for (const s of await services(page)) {
    out.push(`service ${s.name} status=${s.status} active=${s.active_deployment_id}`);
    for (const d of await deployments(page, s.id)) {
      out.push(`  deployment ${d.id} ${d.status} ${d.created_at} ${d.failure_reason ?? ""} ${d.exit_code ?? ""}`);
      if (d.log_tail) out.push(`    log tail: ${d.log_tail.slice(-400).replaceAll("\n", " | ")}`);
    }
  }
  return out.join("\n");
}

function node(page: Page, name: string) {
  return page.locator(`[data-testid=service-node][data-service-name="${name}"]`);
}

async function deploy(page: Page): Promise<void> {
  await page.getByTestId("pending-bar").getByRole("button", { name: "Deploy" }).click();
  await page
    .getByText(/Deployed \d+ change/)
    .first()
    .waitFor();
  await page.getByTestId("pending-bar").waitFor({ state: "detached" });
}

before(async () => {
  const spa = ensureSPA();
  image = ensureImages();
  daemon = await startDaemon(spa);
  browser = await launchBrowser();
  adminCtx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  admin = await adminCtx.newPage();
  admin.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  // Generous: in `make test` this browser shares two cores with three other lanes (a 15 s wait timed out in CI).
  admin.setDefaultTimeout(45_000);
  publicPort = await freePort();
});

after(async () => {
  // Always: stop the browser and the daemon, then remove whatever this daemon left in Docker.
  await memberCtx?.close().catch(() => {});
  await adminCtx?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await daemon?.stop().catch(() => {});
  if (instanceID) {
    const left = removeDockerObjects(instanceID);
    if (left.length) console.log(`# cleanup removed leftovers: ${left.join(", ")}`);
  }
  if (consoleErrors.length) console.log(`# browser console errors:\n${consoleErrors.map((e) => `#   ${e}`).join("\n")}`);
});

test("first-run setup creates the admin and lands on an empty projects page", async () => {
  await admin.goto(daemon.url);
  await admin.waitForURL(/\/setup$/);
  await admin.getByRole("heading", { name: "Welcome aboard" }).waitFor();
  await admin.getByRole("button", { name: "Get started" }).click();
  // Without ?token= the page asks for the setup token.
  await admin.getByLabel("Setup token").waitFor();
  // The URL the daemon logs carries it: the field is not shown then.
  const setupToken = readFileSync(join(daemon.dataDir, "setup-token"), "utf8").trim();
  await admin.goto(`${daemon.url}/setup?token=${setupToken}`);
  await admin.getByRole("heading", { name: "Welcome aboard" }).waitFor();
  await shot(admin, "01-setup-welcome");
  await admin.getByRole("button", { name: "Get started" }).click();
  assert.equal(await admin.getByLabel("Setup token").count(), 0, "token from the URL");
  await admin.getByLabel("Name").fill(ADMIN.name);
  await admin.getByLabel("Email").fill(ADMIN.email);
  await admin.getByLabel("Password").fill(ADMIN.password);
  await shot(admin, "02-setup-account");
  await admin.getByRole("button", { name: "Create account" }).click();
  await admin.waitForURL(/\/projects$/);
  await admin.getByText("Create your first project").waitFor();
  await shot(admin, "03-projects-empty");
  const about = await apiGet<{ deploykit: { instance_id: string } }>(admin, "/api/system/about");
  instanceID = about.body.deploykit.instance_id;
  assert.ok(instanceID, "instance id from /api/system/about");
  const reg = await fetch(`${daemon.url}/api/auth/register`).then((r) => r.json());
  assert.equal(reg.can_register, false, "registration closes after the first user");
});

test("create a project from the empty state", async () => {
  await admin.getByText("Create your first project").click();
  await admin.getByLabel("Name").fill(PROJECT);
  await admin.getByRole("button", { name: "Create project" }).click();
  await admin.waitForURL(/\/projects\/[0-9a-f-]+$/);
  projectID = admin.url().split("/").pop() as string;
  await admin.getByTestId("canvas-status").filter({ hasText: "Live" }).waitFor();
});

test("right-click → Add Service with a public port, add an env var, Deploy, node turns running", async () => {
  await admin.locator(".react-flow__pane").click({ button: "right", position: { x: 360, y: 220 } });
  await admin.getByRole("menuitem", { name: "Add Service" }).click();
  const draft = admin.getByTestId("service-draft");
  await draft.getByLabel("Name").fill("web");
  await draft.getByLabel("Image").fill(image);
  await draft.getByLabel("Container port").fill("80");
  await draft.getByLabel("Public port").fill(String(publicPort));
  await shot(admin, "04-canvas-new-service");
  await draft.getByRole("button", { name: "Create" }).click();
  await node(admin, "web").waitFor();
  assert.equal(await node(admin, "web").getAttribute("data-status"), "pending");

  const panel = admin.getByTestId("pending-service-panel");
  // The node re-renders once the server confirms the staged create; a click that lands during that
  // swap opens nothing (seen once in 4 runs on a loaded machine), so click again until the panel shows.
  for (let i = 0; ; i++) {
    await node(admin, "web").click();
    const opened = await panel
      .getByLabel("Key")
      .waitFor({ timeout: 5_000 })
      .then(() => true)
      .catch(() => false);
    if (opened) break;
    if (i === 2) throw new Error("the pending service's panel did not open after three clicks");
  }
  await panel.getByLabel("Key").fill("GREETING");
  await panel.getByLabel("Value").fill(GREETING);
  await panel.getByRole("button", { name: "Stage" }).click();
  await panel.getByText("GREETING").waitFor();
  await admin.getByTestId("pending-count").filter({ hasText: "2 pending changes" }).waitFor();
  await admin.getByTestId("pending-count").click();
  await admin.getByTestId("pending-diff").getByText("creating").waitFor();
  await shot(admin, "05-canvas-staged");
  await admin.keyboard.press("Escape");

  await deploy(admin);
  await admin.locator('[data-testid=service-node][data-service-name="web"][data-status="running"]').waitFor({ timeout: DEPLOY_TIMEOUT });
  publicURL = (await node(admin, "web").getByTestId("service-public-url").getAttribute("href")) ?? "";
  assert.match(publicURL, new RegExp(`:${publicPort}$`));
  await shot(admin, "06-canvas-running");
});

test("the logs tab shows the container's output live", async () => {
  await node(admin, "web").click();
  const panel = admin.getByTestId("service-panel");
  await panel.getByRole("tab", { name: "Logs" }).click();
  await panel.getByTestId("logs-state").filter({ hasText: "Live" }).waitFor();
  await panel
    .getByTestId("log-line")
    .filter({ hasText: `serving ${GREETING}` })
    .first()
    .waitFor();
  const before = await panel
    .getByTestId("log-line")
    .filter({ hasText: /tick \d+/ })
    .count();
  await waitUntil(
    "new tick lines",
    async () =>
      (await panel
        .getByTestId("log-line")
        .filter({ hasText: /tick \d+/ })
        .count()) > before,
    10_000,
  );
  const stderrColor = await panel
    .getByTestId("log-line")
    .filter({ hasText: "stderr check" })
    .first()
    .locator("span")
    .nth(1)
    .getAttribute("class");
  assert.match(stderrColor ?? "", /text-red/);
  await shot(admin, "07-service-logs");
});

test("the published URL serves the deployed container", async () => {
  const res = await fetch(publicURL);
  assert.equal(res.status, 200);
  assert.match(await res.text(), new RegExp(GREETING));
  const page = await adminCtx.newPage();
  await page.goto(publicURL);
  assert.match((await page.textContent("body")) ?? "", new RegExp(GREETING));
  await page.close();
});

test("rename is staged with a visible diff, then deployed", async () => {
  if (!(await admin.getByTestId("service-panel").isVisible())) await node(admin, "web").click();
  const panel = admin.getByTestId("service-panel");
  await panel.getByRole("tab", { name: "Settings" }).click();
  await panel.getByLabel("Service name").fill("web2");
  await panel.getByRole("button", { name: "Rename" }).click();
  await admin.getByTestId("pending-count").filter({ hasText: "1 pending change" }).waitFor();
  await node(admin, "web2").getByText("renamed").waitFor();
  await admin.getByTestId("pending-count").click();
  const diff = admin.getByTestId("pending-diff");
  await diff.getByText('Service "web"').waitFor();
  await diff.getByText("web2").waitFor();
  await shot(admin, "08-rename-diff");
  const [svc] = await services(admin);
  assert.ok(svc);
  const before = (await deployments(admin, svc.id)).length;
  await deploy(admin);
  await waitUntil(
    "the rename's deployment to become active",
    async () => {
      const [s] = await services(admin);
      const ds = await deployments(admin, svc.id);
      return s?.name === "web2" && ds.length > before && ds[0]?.status === "healthy" && s.active_deployment_id === ds[0]?.id;
    },
    DEPLOY_TIMEOUT,
    () => explainService(admin),
  );
  await admin.locator('[data-testid=service-node][data-service-name="web2"][data-status="running"]').waitFor();
});

test("roll back from the Deployments tab", async () => {
  const [svc] = await services(admin);
  assert.ok(svc);
  const list = await deployments(admin, svc.id);
  const first = list[list.length - 1] as Dep;
  if (!(await admin.getByTestId("service-panel").isVisible())) await node(admin, "web2").click();
  const panel = admin.getByTestId("service-panel");
  await panel.getByRole("tab", { name: "Deployments" }).click();
  await panel.locator("[data-testid=deployment-row][data-active=true]").waitFor();
  await shot(admin, "09-deployments");
  await panel.getByRole("button", { name: "Rollback" }).last().click();
  await admin.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
  await admin.getByText("Rollback started").waitFor();
  await waitUntil(
    "the rollback deployment to become active",
    async () => {
      const ds = await deployments(admin, svc.id);
      const [s] = await services(admin);
      return (
        ds.length > list.length &&
        ds[0]?.status === "healthy" &&
        s?.active_deployment_id === ds[0]?.id &&
        ds[0]?.env_vars.GREETING === first.env_vars.GREETING
      );
    },
    DEPLOY_TIMEOUT,
    () => explainService(admin),
  );
  await panel.locator("[data-testid=deployment-row][data-active=true]").waitFor();
  const res = await waitUntil(
    "the service to answer after the rollback",
    async () => (await fetch(publicURL).catch(() => null))?.ok && (await fetch(publicURL)).text(),
  );
  assert.match(res, new RegExp(GREETING));
  await admin.keyboard.press("Escape");
});

test("run a command in the Shell tab, then restart from the canvas menu", async () => {
  const [svc] = await services(admin);
  assert.ok(svc);
  const running = async () =>
    (
      await apiGet<{ data: { docker_container_id: string }[] }>(
        admin,
        `/api/projects/${projectID}/services/${svc.id}/containers?status=running`,
      )
    ).body.data;
  const startedAt = (id: string) => sh("docker", ["inspect", "--format", "{{.State.StartedAt}}", id]).trim();
  const [c] = await running();
  assert.ok(c);

  // A shell in the service's container: sh by default, output through xterm.js.
  await node(admin, "web2").click();
  const panel = admin.getByTestId("service-panel");
  await panel.getByRole("tab", { name: "Shell" }).click();
  await panel.getByTestId("shell-connect").click();
  await panel.getByTestId("shell-state").filter({ hasText: "Connected" }).waitFor();
  await panel.getByTestId("shell-terminal").click();
  await admin.keyboard.type("echo shell-$((6*7))");
  await admin.keyboard.press("Enter");
  // The echoed input reads "shell-$((6*7))"; only the command's output reads "shell-42".
  await panel.getByTestId("shell-terminal").locator(".xterm-rows").getByText("shell-42", { exact: true }).waitFor();
  await shot(admin, "09b-shell");
  await panel.getByTestId("shell-disconnect").click();
  const audit = await apiGet<{ data: { command: string[]; container_id: string }[] }>(admin, "/api/system/shell-sessions");
  assert.equal(audit.status, 200);
  assert.deepEqual(audit.body.data[0]?.command, ["sh"]);
  assert.equal(audit.body.data[0]?.container_id, c.docker_container_id);
  await panel.getByRole("button", { name: "Close panel" }).click();
  await panel.waitFor({ state: "detached" });

  // The service node's context menu: Restart, at once (Stop would ask first).
  const before = startedAt(c.docker_container_id);
  await node(admin, "web2").click({ button: "right" });
  await admin.getByRole("menuitem", { name: "Stop…" }).waitFor();
  await admin.getByRole("menuitem", { name: "Restart" }).click();
  await admin
    .getByText(/Restarting, one replica at a time/)
    .first()
    .waitFor();
  // The next tests run while the replica restarts; "the restart from the canvas menu completed" awaits this.
  restartDone = waitUntil(
    "the container to be restarted",
    async () => {
      const [now] = await running();
      return now && now.docker_container_id === c.docker_container_id && startedAt(now.docker_container_id) !== before;
    },
    DEPLOY_TIMEOUT + 30_000,
    () => explainService(admin),
  ).then(() => undefined);
  restartDone.catch(() => {});
});

test("two users see each other's cursor and moves", async () => {
  await admin.goto(`${daemon.url}/settings/users`);
  await admin.getByRole("button", { name: "Add user" }).click();
  await admin.getByLabel("Name").fill(MEMBER.name);
  await admin.getByLabel("Email").fill(MEMBER.email);
  await admin.getByLabel("Password").fill(MEMBER.password);
  await admin.getByRole("button", { name: "Create user" }).click();
  await admin.getByTestId(`user-row-${MEMBER.email}`).waitFor();
  await shot(admin, "10-settings-users", true);

  memberCtx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const member = await memberCtx.newPage();
  member.setDefaultTimeout(45_000);
  await member.goto(`${daemon.url}/projects/${projectID}`);
  await member.waitForURL(/\/login\?redirect=/);
  await member.getByLabel("Email").fill(MEMBER.email);
  await member.getByLabel("Password").fill(MEMBER.password);
  await shot(member, "10b-login");
  await member.getByRole("button", { name: "Sign in" }).click();
  await member.waitForURL(new RegExp(`/projects/${projectID}$`));
  await member.getByTestId("canvas-status").filter({ hasText: "Live" }).waitFor();

  await admin.goto(`${daemon.url}/projects/${projectID}`);
  await admin.getByTestId("canvas-status").filter({ hasText: "Live" }).waitFor();
  await member.getByTestId("presence").getByTitle(ADMIN.name).waitFor();

  // Cursors, both ways.
  const pane = admin.getByTestId("canvas");
  const box = await pane.boundingBox();
  assert.ok(box);
  for (let i = 0; i < 6; i++) await admin.mouse.move(box.x + 200 + i * 20, box.y + 150 + i * 10, { steps: 2 });
  await member.locator(`[data-testid=remote-cursor][data-user-name="${ADMIN.name}"]`).waitFor();
  const mbox = await member.getByTestId("canvas").boundingBox();
  assert.ok(mbox);
  for (let i = 0; i < 6; i++) await member.mouse.move(mbox.x + 500 - i * 20, mbox.y + 300, { steps: 2 });
  await admin.locator(`[data-testid=remote-cursor][data-user-name="${MEMBER.name}"]`).waitFor();

  // A drag on the admin's canvas moves the node on the member's.
  const memberNode = member.locator(".react-flow__node").filter({ has: member.getByTestId("service-node") });
  const beforeT = await memberNode.getAttribute("style");
  const header = node(admin, "web2");
  const hb = await header.boundingBox();
  assert.ok(hb);
  await admin.mouse.move(hb.x + 40, hb.y + 20);
  await admin.mouse.down();
  for (let i = 1; i <= 10; i++) await admin.mouse.move(hb.x + 40 + i * 15, hb.y + 20 + i * 8);
  await admin.mouse.up();
  await waitUntil("the member to see the node move", async () => (await memberNode.getAttribute("style")) !== beforeT, 10_000);
  await shot(admin, "11-canvas-admin-collab");
  await shot(member, "12-canvas-member-collab");
});

test("a member is kept out of admin settings", async () => {
  assert.ok(memberCtx);
  const member = memberCtx.pages()[0] as Page;
  assert.equal(await member.getByRole("link", { name: "Admin settings" }).count(), 0);
  await member.goto(`${daemon.url}/settings/users`);
  await member.waitForURL(/\/projects$/);
  const r = await apiGet(member, "/api/users");
  assert.equal(r.status, 403);
  await member.close();
});

test("admin screens: system gauges poll, about shows Docker and the database", async () => {
  await admin.goto(`${daemon.url}/settings/system`);
  await admin.getByTestId("system-status").getByText("connected").waitFor();
  const polls: number[] = [];
  admin.on("request", (r) => {
    if (r.url().endsWith("/api/system/status")) polls.push(Date.now());
  });
  await waitUntil("two status polls", async () => polls.length >= 2, 8000);
  await shot(admin, "13-settings-system", true);
  await admin.goto(`${daemon.url}/settings/about`);
  await admin.getByTestId("about").getByText("Server version").waitFor();
  await shot(admin, "14-settings-about", true);
  await admin.goto(`${daemon.url}/profile`);
  await admin.getByRole("button", { name: "Create key" }).click();
  await admin.getByLabel("Description").fill("ci");
  await admin.getByRole("dialog").getByRole("button", { name: "Create" }).click();
  const key = await admin.getByTestId("api-key-token").inputValue();
  assert.match(key, /^dk_/);
  const viaKey = await fetch(`${daemon.url}/api/auth/me`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(viaKey.status, 200);
  await admin.getByRole("button", { name: "Done" }).click();
  await shot(admin, "15-profile", true);
});

test("the restart from the canvas menu completed", async () => {
  assert.ok(restartDone, "the restart was requested");
  await restartDone;
  await admin.goto(`${daemon.url}/projects/${projectID}`);
  await admin.locator('[data-testid=service-node][data-service-name="web2"][data-status="running"]').waitFor({ timeout: 60_000 });
});

test("delete the service and the project; the reconciler removes the containers", async () => {
  await admin.goto(`${daemon.url}/projects/${projectID}`);
  await admin.getByTestId("canvas-status").filter({ hasText: "Live" }).waitFor();
  await node(admin, "web2").click({ button: "right" });
  await admin.getByRole("menuitem", { name: "Delete Node" }).click();
  await admin.getByTestId("pending-count").filter({ hasText: "1 pending change" }).waitFor();
  await deploy(admin);
  await node(admin, "web2").waitFor({ state: "detached" });
  await admin.getByRole("link", { name: "Project settings" }).click();
  await admin.getByRole("heading", { name: `${PROJECT} — Settings` }).waitFor();
  await shot(admin, "16-project-settings", true);
  await admin.getByRole("button", { name: "Delete project" }).click();
  await admin.getByRole("dialog").getByRole("button", { name: "Delete project" }).click();
  await admin.waitForURL(/\/projects$/);
  await admin.getByText("Create your first project").waitFor();
  await waitUntil(
    "the project's containers and network to be removed",
    async () => dockerCount("ps", instanceID) === 0 && dockerCount("network", instanceID) === 0,
    90_000,
  );
});

test("the app ran under its Content-Security-Policy without a violation", () => {
  const violations = consoleErrors.filter((e) => /Content Security Policy/i.test(e));
  assert.deepEqual(violations, [], "CSP violations in the browser console");
});
