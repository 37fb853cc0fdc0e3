/**
 * Issue 12 in the browser: an admin adds a custom domain from the service's Networking card, deploys,
 * the canvas node shows the https:// link, and the domain answers over HTTPS through the real Caddy
 * proxy (deploykit-test/caddy:1 on free 127.0.0.1 ports), trusting the internal CA root that the UI
 * offers for download.
 *   node test/e2e/domains.e2e.ts
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { Client } from "../../src/http/index.ts";
import type * as deploykit from "../../src/index.ts";
import { ADMIN, Daemon, freePort } from "../harness/daemon.ts";
import { getViaProxy } from "../harness/proxy.ts";
import { waitFor } from "../harness/wait.ts";
import { closeSuite, ensureSPA, journeyOrReport, launchBrowser, outDir } from "./env.ts";

const IMAGE = "deploykit-test/greeter:1";
const tag = randomBytes(4).toString("hex");
const hostname = `shop-${tag}.localhost`;
const TIMEOUT = 120_000;

let d: Daemon;
let c: Client;
let browser: Browser;
let page: Page;
let httpsPort = 0;
let projectID = "";
let service: deploykit.Service;

function viaProxy(ca: string): Promise<{ status: number; body: string } | null> {
  return getViaProxy(httpsPort, hostname, ca);
}

before(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  const spa = ensureSPA();
  httpsPort = await freePort();
  d = await Daemon.start({
    proxy: { httpPort: await freePort(), httpsPort, container: `dk-e2e-proxy-${tag}` },
    args: ["-spa-dir", spa],
  });
  c = new Client(d.url, { token: d.token });
  const p = await c.createProject(`Domains ${tag}`);
  projectID = p.id;
  await c.createService(p.id, {
    name: "web",
    image: IMAGE,
    ports: [{ container_port: 8080 }],
    env_vars: [{ key: "GREETING", value: "hello-over-https" }],
  });
  await c.deploy(p.id);
  service = (await c.findServices(p.id)).items[0] as deploykit.Service;
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
});

after(() => closeSuite(browser, d));

test("add a custom domain in the Networking card, deploy, and reach it over HTTPS through the proxy", async () => {
  await journeyOrReport("domains", journey, () => page);
});

async function journey(): Promise<void> {
  await page.goto(`${d.url}/login`);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: /sign in|log in/i }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  await page.goto(`${d.url}/projects/${projectID}`);
  const node = page.locator('[data-testid=service-node][data-service-name="web"]');
  await node.and(page.locator('[data-status="running"]')).waitFor({ timeout: TIMEOUT });
  await node.click();
  await page.getByRole("tab", { name: "Settings" }).click();
  await page.getByRole("button", { name: "Add custom domain" }).click();
  const form = page.getByRole("form", { name: "Add custom domain" });
  await form.getByLabel("Hostname").fill(hostname);
  // A .localhost name needs no public DNS record: the form says the proxy's own CA signs it.
  await form.getByText("the proxy's own CA signs it").waitFor();
  await form.getByRole("button", { name: "Add domain" }).click();
  await page.getByTestId("staged-domain").filter({ hasText: hostname }).waitFor();
  await page.screenshot({ path: join(outDir(), "domains-01-staged.png") });

  await page.getByTestId("pending-bar").getByRole("button", { name: "Deploy" }).click();
  await page.getByTestId("pending-bar").waitFor({ state: "detached", timeout: TIMEOUT });
  const active = await waitFor(
    async () => {
      const [dom] = await c.findDomains(projectID, service.id);
      return dom?.status === "active" ? dom : null;
    },
    { timeoutMs: TIMEOUT, intervalMs: 500, what: "the domain to be active" },
  );
  assert.equal(active.hostname, hostname);
  assert.equal(active.tls, "internal");

  // The canvas node links the primary https:// URL once the domain exists.
  const link = node.getByTestId("service-domain-url");
  await link.waitFor({ timeout: TIMEOUT });
  assert.equal(await link.getAttribute("href"), `https://${hostname}`);
  await page.getByTestId("domain-row").filter({ hasText: hostname }).waitFor();
  await page.screenshot({ path: join(outDir(), "domains-02-active.png") });

  const root = await c.proxyRootCertificate();
  const got = await waitFor(async () => ((await viaProxy(root))?.status === 200 ? viaProxy(root) : null), {
    timeoutMs: 60_000,
    what: "the greeting over HTTPS through the proxy",
  });
  assert.deepEqual(got, { status: 200, body: "hello-over-https" });
}
