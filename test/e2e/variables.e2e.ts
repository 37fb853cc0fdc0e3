/**
 * Issue 14 in the browser: two services created on the canvas, a sealed PASSWORD on the provider, and
 * a consumer whose DATABASE_URL is wired with the `${{` autocomplete (the sealed preview masked).
 * After Deploy the canvas draws the managed reference edge, the consumer's container holds the
 * resolved value, and no API response or canvas frame the page received ever carried the secret.
 *   node test/e2e/variables.e2e.ts
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import { Client } from "../../src/http/index.ts";
import * as deploykit from "../../src/index.ts";
import { ADMIN, Daemon } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";
import { closeSuite, ensureImages, ensureSPA, journeyOrReport, launchBrowser, outDir, sh } from "./env.ts";

const TIMEOUT = 45_000;
const DEPLOY_TIMEOUT = 120_000;
const SECRET = `s3cret-${randomBytes(6).toString("hex")}`;

let d: Daemon;
let c: Client;
let browser: Browser;
let page: Page;
let image = "";
let projectID = "";
/** Every API response body and canvas frame the page received, searched for the secret at the end. */
const seen: string[] = [];

before(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  image = ensureImages();
  const spa = ensureSPA();
  d = await Daemon.start({ args: ["-spa-dir", spa] });
  c = new Client(d.url, { token: d.token });
  projectID = (await c.createProject(`Variables ${randomBytes(3).toString("hex")}`)).id;
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("response", async (r) => {
    if (!r.url().includes("/api/")) return;
    seen.push(await r.text().catch(() => ""));
  });
  page.on("websocket", (ws) => ws.on("framereceived", (f) => seen.push(String(f.payload))));
});

after(() => closeSuite(browser, d));

test("wire a consumer to a sealed variable with autocomplete, deploy, see the edge and the resolved env", async () => {
  await journeyOrReport(
    "variables",
    journey,
    () => page,
    () => `daemon log:\n${d.log().slice(-3000)}`,
  );
});

function node(name: string): Locator {
  return page.locator(`[data-testid=service-node][data-service-name="${name}"]`);
}

async function deploy(): Promise<void> {
  await page.getByTestId("pending-bar").getByRole("button", { name: "Deploy" }).click();
  await page.getByTestId("pending-bar").waitFor({ state: "detached", timeout: DEPLOY_TIMEOUT });
}

async function addService(name: string, x: number, y: number): Promise<void> {
  await page.locator(".react-flow__pane").click({ button: "right", position: { x, y } });
  await page.getByRole("menuitem", { name: "Add Service" }).click();
  const draft = page.getByTestId("service-draft");
  await draft.getByLabel("Name").fill(name);
  await draft.getByLabel("Image").fill(image);
  await draft.getByLabel("Container port").fill("80");
  await draft.getByRole("button", { name: "Create" }).click();
  await node(name).waitFor();
  // The new service's panel opens over the right of the canvas.
  await page.keyboard.press("Escape");
}

/** Opens the service's panel on its Variables tab (a click landing while the node re-renders opens nothing: retried). */
async function openVariables(name: string): Promise<Locator> {
  const panel = page.getByTestId("service-panel");
  for (let i = 0; ; i++) {
    await node(name).click();
    const opened = await panel
      .getByRole("tab", { name: "Variables" })
      .waitFor({ timeout: 5_000 })
      .then(() => true)
      .catch(() => false);
    if (opened) break;
    if (i === 2) throw new Error(`the panel of ${name} did not open after three clicks`);
  }
  await panel.getByRole("tab", { name: "Variables" }).click();
  await panel.getByRole("button", { name: "Add variable" }).waitFor();
  return panel;
}

/**
 * Types `${{` at the end of the value and picks the service, then its variable, from the list.
 * Returns the variable's suggestion as shown (its key and the resolved value's preview).
 */
async function pickReference(value: Locator, service: string, key: string): Promise<string> {
  await value.press("End");
  await value.pressSequentially("${{");
  const list = page.getByRole("list", { name: "Reference suggestions" });
  await list
    .getByRole("button")
    .filter({ has: page.getByText(service, { exact: true }) })
    .click();
  const item = list.getByRole("button").filter({ has: page.getByText(key, { exact: true }) });
  await item.waitFor();
  const shown = (await item.textContent()) ?? "";
  await item.click();
  await list.waitFor({ state: "detached" });
  return shown;
}

async function journey(): Promise<void> {
  await page.goto(`${d.url}/login`);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: /sign in|log in/i }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  await page.goto(`${d.url}/projects/${projectID}`);
  await page.getByTestId("canvas-status").filter({ hasText: "Live" }).waitFor();

  // Two services created on the canvas and deployed together.
  await addService("db", 200, 140);
  await addService("app", 560, 140);
  await deploy();
  for (const name of ["db", "app"]) {
    await node(name).and(page.locator('[data-status="running"]')).waitFor({ timeout: DEPLOY_TIMEOUT });
  }
  await page.screenshot({ path: join(outDir(), "variables-01-services.png") });

  // The provider gets a sealed PASSWORD from its Variables tab.
  let panel = await openVariables("db");
  await panel.getByRole("button", { name: "Add variable" }).click();
  let dialog = page.getByRole("dialog");
  await dialog.getByLabel("Key").fill("PASSWORD");
  await dialog.getByLabel("Value").fill(SECRET);
  await dialog.getByRole("checkbox").check();
  await dialog.getByRole("button", { name: "Stage variable" }).click();
  await dialog.waitFor({ state: "detached" });
  const row = panel.getByTestId("env-row-PASSWORD");
  await row.getByText("sealed", { exact: true }).waitFor();
  assert.equal(await row.getByRole("button", { name: "Reveal PASSWORD" }).count(), 0, "a sealed row offers no reveal");
  await deploy();
  await row.getByText("pending add").waitFor({ state: "detached" });
  await page.keyboard.press("Escape");

  // The consumer's DATABASE_URL is typed with the autocomplete: service first, then its variable.
  panel = await openVariables("app");
  await panel.getByRole("button", { name: "Add variable" }).click();
  dialog = page.getByRole("dialog");
  await dialog.getByLabel("Key").fill("DATABASE_URL");
  const value = dialog.getByLabel("Value");
  await value.fill("postgres://u:");
  const password = await pickReference(value, "db", "PASSWORD");
  assert.ok(password.includes("••••••"), `the sealed preview is masked: ${password}`);
  assert.ok(!password.includes(SECRET), "the sealed preview never shows the value");
  await value.pressSequentially("@");
  const host = await pickReference(value, "db", "HOST");
  await value.pressSequentially(":5432/app");
  assert.equal(await value.inputValue(), "postgres://u:${{db.PASSWORD}}@${{db.HOST}}:5432/app");
  await page.screenshot({ path: join(outDir(), "variables-02-wired.png") });
  await dialog.getByRole("button", { name: "Stage variable" }).click();
  await dialog.waitFor({ state: "detached" });
  await panel.getByTestId("env-row-DATABASE_URL").getByText("pending add").waitFor();
  await deploy();
  await page.keyboard.press("Escape");

  // The managed reference edge joins the two nodes, labelled with the consumer's key.
  const id = async (name: string) =>
    (await node(name).locator("xpath=ancestor::div[contains(@class,'react-flow__node')][1]").getAttribute("data-id")) ?? "";
  const [dbNode, appNode] = [await id("db"), await id("app")];
  const edge = page
    .locator(`[aria-label="Edge from ${appNode} to ${dbNode}"]`)
    .or(page.locator(`[aria-label="Edge from ${dbNode} to ${appNode}"]`));
  await edge.waitFor({ timeout: DEPLOY_TIMEOUT });
  await page.locator(".react-flow__edgelabel-renderer").getByText("DATABASE_URL", { exact: true }).waitFor();
  await page.screenshot({ path: join(outDir(), "variables-03-edge.png") });

  // The consumer's new container holds the resolved value.
  const [dbSvc, appSvc] = await Promise.all(["db", "app"].map(async (n) => (await c.findServices(projectID, { name: n })).items[0]));
  assert.ok(dbSvc && appSvc);
  const catalog = await c.findReferenceCatalog(projectID);
  const dbHost = catalog.services.find((s) => s.name === "db")?.variables.find((v) => v.key === "HOST")?.value;
  assert.ok(dbHost && host.includes(dbHost), `the HOST suggestion previews ${dbHost}: ${host}`);
  const want = `DATABASE_URL=postgres://u:${SECRET}@${dbHost}:5432/app`;
  const env = await waitFor(
    async () => {
      const running = (await c.findContainers(projectID, appSvc.id, { status: "running" })).items;
      for (const ct of running) {
        const e = JSON.parse(sh("docker", ["inspect", "--format", "{{json .Config.Env}}", ct.docker_container_id])) as string[];
        if (e.includes(want)) return e;
      }
      return null;
    },
    { timeoutMs: DEPLOY_TIMEOUT, intervalMs: 1000, what: "a running app container with the resolved DATABASE_URL" },
  );
  assert.ok(env.includes(want));

  // Renaming the provider's variable in place rewrites the consumer's reference on Deploy.
  panel = await openVariables("db");
  await panel.getByTestId("env-refs-PASSWORD").filter({ hasText: "app.DATABASE_URL" }).waitFor();
  await panel.getByRole("button", { name: "Actions for PASSWORD" }).click();
  await page.getByRole("menuitem", { name: "Rename" }).click();
  const newKey = panel.getByLabel("New key for PASSWORD");
  await newKey.fill("DB_PASSWORD");
  await newKey.press("Enter");
  await panel.getByTestId("env-renamed-DB_PASSWORD").filter({ hasText: "was PASSWORD" }).waitFor();
  await page.getByTestId("pending-count").click();
  const diff = page.getByTestId("pending-diff");
  await diff.getByText("PASSWORD → DB_PASSWORD").waitFor();
  await diff.getByText("renamed (sealed)").waitFor();
  await page.screenshot({ path: join(outDir(), "variables-04-rename-staged.png") });
  await page.getByTestId("pending-count").click();
  await deploy();
  await panel.getByTestId("env-renamed-DB_PASSWORD").waitFor({ state: "detached" });
  await panel.getByTestId("env-refs-DB_PASSWORD").filter({ hasText: "app.DATABASE_URL" }).waitFor();
  const url = (await c.findEnvVars(projectID, { scope: "service", serviceID: appSvc.id })).find((v) => v.key === "DATABASE_URL");
  assert.ok(url);
  assert.equal(
    await c.revealEnvVar(projectID, { scope: "service", serviceID: appSvc.id }, url.id).then((r) => r.value),
    "postgres://u:${{db.DB_PASSWORD}}@${{db.HOST}}:5432/app",
  );
  await page.keyboard.press("Escape");

  // Nothing the page received, nor the API, shows the sealed value.
  await page.reload();
  await page.getByTestId("canvas-status").filter({ hasText: "Live" }).waitFor();
  assert.ok(!(await page.content()).includes(SECRET), "the page never shows the sealed value");
  const leaks = seen.filter((s) => s.includes(SECRET));
  assert.deepEqual(leaks, [], "no API response or canvas frame carries the sealed value");
  const listed = await c.findEnvVars(projectID, { scope: "service", serviceID: dbSvc.id });
  assert.ok(!JSON.stringify(listed).includes(SECRET));
  assert.ok(!JSON.stringify(catalog).includes(SECRET));
  const pw = listed.find((v) => v.key === "DB_PASSWORD");
  assert.ok(pw?.sealed);
  await assert.rejects(c.revealEnvVar(projectID, { scope: "service", serviceID: dbSvc.id }, pw.id), (err) => {
    assert.equal(deploykit.errorCode(err), deploykit.EFORBIDDEN);
    return true;
  });
}
