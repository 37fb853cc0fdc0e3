/**
 * Issue 15 in the browser: a deployed service's Metrics tab draws its charts with the deployment's
 * markers; clicking a marker line on the CPU chart opens that deployment in the Deployments tab, and
 * the Logs tab's search finds a line through the server's search of Docker's logs. The daemon samples
 * every second (-metrics-interval 1s), so the charts have points within seconds of the rollout.
 *   node test/e2e/metrics.e2e.ts
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { Client } from "../../src/http/index.ts";
import type * as deploykit from "../../src/index.ts";
import { ADMIN, Daemon } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";
import { closeSuite, ensureImages, ensureSPA, journeyOrReport, launchBrowser, outDir } from "./env.ts";

const tag = randomBytes(4).toString("hex");
/** Generous: the suite runs beside three other test lanes on two cores. */
const TIMEOUT = 45_000;

let d: Daemon;
let c: Client;
let browser: Browser;
let page: Page;
let projectID = "";
let service: deploykit.Service;
let deploymentID = "";

before(async () => {
  const image = ensureImages();
  const spa = ensureSPA();
  d = await Daemon.start({ args: ["-spa-dir", spa, "-metrics-interval", "1s"] });
  c = new Client(d.url, { token: d.token });
  const p = await c.createProject(`Metrics ${tag}`);
  projectID = p.id;
  await c.createService(p.id, { name: "web", image, ports: [{ container_port: 80 }] });
  await c.deploy(p.id);
  service = (await c.findServices(p.id)).items[0] as deploykit.Service;
  // The API has the serving marker and a few CPU samples before the browser looks.
  const series = await waitFor(
    async () => {
      const s = await c.serviceMetrics(projectID, service.id, { range: "1h" });
      const serving = s.markers.find((m) => m.kind === "serving");
      return serving && s.avg.cpu_pct.filter((v) => v !== null).length >= 2 ? s : null;
    },
    { timeoutMs: 90_000, intervalMs: 1000, what: "a serving marker and CPU samples from the metrics API" },
  );
  deploymentID = (series.markers.find((m) => m.kind === "serving") as deploykit.DeploymentMarker).deployment_id;
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.setDefaultTimeout(TIMEOUT);
});

after(() => closeSuite(browser, d));

test("the Metrics tab draws charts with a deployment marker that opens the deployment; the Logs tab searches on the server", async () => {
  await journeyOrReport("metrics", journey, () => page);
});

async function journey(): Promise<void> {
  await page.goto(`${d.url}/login`);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: /sign in|log in/i }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  await page.goto(`${d.url}/projects/${projectID}`);
  const node = page.locator('[data-testid=service-node][data-service-name="web"]');
  await node.and(page.locator('[data-status="running"]')).waitFor();
  await node.click();
  const panel = page.getByTestId("service-panel");
  await panel.getByRole("tab", { name: "Metrics" }).click();

  // Four uPlot charts, each with its canvas, and the marker list naming the deployment.
  const tab = panel.getByTestId("metrics-tab");
  for (const id of ["cpu", "memory", "network", "disk"]) await tab.getByTestId(`metrics-chart-${id}`).locator("canvas").waitFor();
  const listed = tab.getByTestId("metrics-marker").and(page.locator('[data-kind="serving"]'));
  await listed.waitFor();
  assert.match((await listed.textContent()) ?? "", new RegExp(deploymentID.slice(0, 8)));
  await page.screenshot({ path: join(outDir(), "metrics-01-tab.png") });

  // The marker is a line on the canvas: the chart lists where it drew each one (data-markers on the
  // plot area); a click there opens the Deployments tab with that deployment in focus. A deployment
  // made seconds ago sits at the right edge, so the line may appear only with the next refresh, and
  // the click lands a pixel or two inside the plot (a click within 6 px of a line opens it).
  const over = tab.getByTestId("metrics-chart-cpu").locator(".u-over");
  const line = await waitFor(
    async () => {
      const drawn = JSON.parse((await over.getAttribute("data-markers")) ?? "[]") as { deployment_id: string; x: number }[];
      return drawn.find((m) => m.deployment_id === deploymentID) ?? null;
    },
    { timeoutMs: TIMEOUT, intervalMs: 500, what: "the deployment's marker line drawn on the CPU chart" },
  );
  const box = await over.boundingBox();
  assert.ok(box && box.width > 100, `the CPU chart's plot area has a width (${JSON.stringify(box)})`);
  await over.click({ position: { x: Math.min(Math.max(line.x, 2), box.width - 2), y: box.height / 2 } });
  const row = panel.locator(`[data-testid=deployment-row][data-deployment-id="${deploymentID}"]`);
  await row.and(page.locator('[data-focused="true"]')).waitFor();
  assert.equal(await panel.getByRole("tab", { name: "Deployments" }).getAttribute("aria-selected"), "true");
  await page.screenshot({ path: join(outDir(), "metrics-02-opened.png") });

  // The marker list's button opens the same deployment (the keyboard's way in).
  await panel.getByRole("tab", { name: "Metrics" }).click();
  await row.waitFor({ state: "detached" });
  await tab.getByTestId("metrics-marker").and(page.locator('[data-kind="serving"]')).click();
  await row.and(page.locator('[data-focused="true"]')).waitFor();

  // Logs: "stderr check" is printed once at start, on stderr; the server's search finds it there.
  await panel.getByRole("tab", { name: "Logs" }).click();
  const search = panel.getByTestId("log-search");
  await search.getByLabel("Search logs").fill("stderr check");
  await search.getByLabel("Stream").selectOption("stderr");
  await search.getByRole("button", { name: "Search" }).click();
  const results = panel.getByTestId("log-results");
  await results.getByTestId("log-line").filter({ hasText: "stderr check" }).first().waitFor();
  assert.equal(await results.getByTestId("log-line").filter({ hasText: "tick" }).count(), 0, "stdout's ticks are filtered out");
  assert.match((await panel.getByTestId("log-search-summary").textContent()) ?? "", /^[1-9]\d* matching lines/);
  await page.screenshot({ path: join(outDir(), "metrics-03-log-search.png") });
}
