/**
 * `deploykit login` in the browser, end to end: the built CLI asks for a device code and prints the
 * approval URL; Chromium opens it, is sent to sign in, comes back to /device, and approves; the CLI
 * then holds a working API key. Runnable alone:
 *   node test/e2e/cli-login.e2e.ts      (builds the SPA and the CLI when missing)
 * Screenshots: test-results/e2e/cli-login-*.png.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type Daemon, ensureSPA, launchBrowser, outDir, ROOT, startDaemon } from "./env.ts";

const ADMIN = { name: "Ada Admin", email: "ada@cli-login.test", password: "correct-horse-42" };
const CLI = process.env.DEPLOYKIT_TEST_CLI ?? join(ROOT, "dist/server/cli/main.js");

let daemon: Daemon;
let browser: Browser;
let page: Page;
const config = mkdtempSync(join(tmpdir(), "dk-cli-login-"));

function startLogin(): { child: ChildProcess; firstLine: Promise<{ user_code: string; url: string }>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, "--url", daemon.url, "login", "--json"], {
    env: { ...process.env, XDG_CONFIG_HOME: config, DEPLOYKIT_URL: "", DEPLOYKIT_TOKEN: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const firstLine = new Promise<{ user_code: string; url: string }>((res, rej) => {
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) res(JSON.parse(out.slice(0, nl)));
    });
    child.on("close", () => rej(new Error(`login ended before printing a code: ${err}`)));
  });
  const exit = new Promise<number | null>((res) => child.on("close", (code) => res(code)));
  return { child, firstLine, exit };
}

before(async () => {
  const spa = ensureSPA();
  if (!existsSync(join(spa, "assets")) || !readFileSync(join(spa, "index.html"), "utf8")) throw new Error("SPA not built");
  if (!existsSync(CLI)) execFileSync("npm", ["run", "build:server"], { cwd: ROOT, stdio: "inherit" });
  daemon = await startDaemon(spa);
  const setupToken = readFileSync(join(daemon.dataDir, "setup-token"), "utf8").trim();
  const r = await fetch(`${daemon.url}/api/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...ADMIN, setup_token: setupToken }),
  });
  assert.equal(r.status, 201, await r.text());
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  page.setDefaultTimeout(45_000);
});

after(async () => {
  await browser?.close().catch(() => {});
  await daemon?.stop().catch(() => {});
  rmSync(config, { recursive: true, force: true });
});

test("approve in the browser: the CLI is logged in with a new API key", async () => {
  const login = startLogin();
  const { user_code, url } = await login.firstLine;
  assert.equal(url, `${daemon.url}/device?code=${user_code}`);
  // Not signed in yet: the page sends the user to sign in, then back to the approval.
  await page.goto(url);
  await page.waitForURL(/\/login\?redirect=/);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/device\?code=/);
  await page.getByTestId("device-pending").waitFor();
  assert.equal((await page.getByTestId("device-user-code").textContent())?.trim(), user_code);
  await page.getByText(/deploykit CLI on /).waitFor();
  await page.screenshot({ path: join(outDir(), "cli-login-1-approve.png") });
  await page.getByTestId("device-approve").click();
  await page.getByTestId("device-approved").waitFor();
  await page.screenshot({ path: join(outDir(), "cli-login-2-approved.png") });
  assert.equal(await login.exit, 0);

  const creds = JSON.parse(readFileSync(join(config, "deploykit/credentials.json"), "utf8"));
  const me = await fetch(`${daemon.url}/api/auth/me`, { headers: { Authorization: `Bearer ${creds.token}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).email, ADMIN.email);
  // The key is the user's to see and revoke under Profile → API keys.
  await page.goto(`${daemon.url}/profile`);
  await page
    .getByText(/deploykit CLI on /)
    .first()
    .waitFor();
});

test("deny in the browser: the CLI exits 3", async () => {
  const login = startLogin();
  const { url } = await login.firstLine;
  await page.goto(url);
  await page.getByTestId("device-pending").waitFor();
  await page.getByTestId("device-deny").click();
  await page.getByTestId("device-denied").waitFor();
  assert.equal(await login.exit, 3);
});

test("a mistyped code shows an error, not an approval", async () => {
  await page.goto(`${daemon.url}/device`);
  await page.getByTestId("device-code-input").fill("bcdf ghjk");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByTestId("device-error").waitFor();
  await page.screenshot({ path: join(outDir(), "cli-login-3-unknown.png") });
});
