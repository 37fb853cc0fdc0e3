/** `login`, `logout`, `whoami`. */
import { spawn } from "node:child_process";
import { hostname } from "node:os";
import { Client, errorFromResponse } from "../http/client.ts";
import type * as deploykit from "../index.ts";
import { credentialsPath, readCredentials, removeCredentials, writeCredentials } from "./config.ts";
import { CliError, type Context, EXIT_AUTH, usage } from "./context.ts";

/** What `POST /api/auth/device` answers. */
export interface DeviceCode {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

type DevicePoll = { status: "pending" } | { status: "approved"; token: string; api_key_id: string; user: deploykit.User };

function normalizeURL(raw: string): string {
  let url: URL;
  try {
    url = new URL(/^https?:\/\//.test(raw) ? raw : `https://${raw}`);
  } catch {
    throw usage(`Not a URL: ${raw}`);
  }
  return url.toString().replace(/\/+$/, "");
}

/** Opens a URL in the user's browser; the URL is one argument, never a shell string. */
export function openBrowser(url: string): boolean {
  const cmd = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  try {
    const child = spawn(cmd, [url], { stdio: "ignore", detached: true });
    child.on("error", () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The device-code flow: ask for a code, let the user approve it in the browser, poll for the key. */
async function deviceLogin(ctx: Context, url: string, browser: boolean): Promise<{ token: string; api_key_id: string }> {
  const post = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(url + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw await errorFromResponse(res);
    return (await res.json()) as T;
  };
  const code = await post<DeviceCode>("/api/auth/device", { description: `deploykit CLI on ${hostname()}` });
  if (ctx.json)
    process.stdout.write(`${JSON.stringify({ event: "device_code", user_code: code.user_code, url: code.verification_uri_complete })}\n`);
  else {
    process.stderr.write(
      `Open this page and approve the code ${ctx.bold(code.user_code)}:\n  ${ctx.cyan(code.verification_uri_complete)}\n`,
    );
  }
  if (browser && process.stdout.isTTY) openBrowser(code.verification_uri_complete);
  const deadline = Date.now() + code.expires_in * 1000;
  let interval = Math.max(1, code.interval) * 1000;
  while (Date.now() < deadline) {
    await sleep(interval);
    let r: DevicePoll;
    try {
      r = await post<DevicePoll>("/api/auth/device/token", { device_code: code.device_code });
    } catch (err) {
      const e = err as deploykit.DeployKitError;
      if (e.code === "rate_limited") {
        interval += 1000;
        continue;
      }
      if (e.code === "forbidden") throw new CliError("The login was denied in the browser.", EXIT_AUTH, "forbidden");
      if (e.code === "not_found") throw new CliError("The login code expired: run `deploykit login` again.", EXIT_AUTH, "expired");
      throw err;
    }
    if (r.status === "approved") return { token: r.token, api_key_id: r.api_key_id };
  }
  throw new CliError("The login code expired: run `deploykit login` again.", EXIT_AUTH, "expired");
}

export async function login(ctx: Context, opts: { token?: string; browser?: boolean }): Promise<void> {
  const raw = ctx.opts.url ?? ctx.env.DEPLOYKIT_URL ?? readCredentials(ctx.env)?.url;
  if (!raw) throw usage("Which server? Pass --url https://deploy.example.com (or set DEPLOYKIT_URL).");
  const url = normalizeURL(raw);
  let token = opts.token ?? ctx.env.DEPLOYKIT_TOKEN;
  let apiKeyID: string | undefined;
  if (!token) ({ token, api_key_id: apiKeyID } = await deviceLogin(ctx, url, opts.browser !== false));
  let user: deploykit.User;
  try {
    user = await new Client(url, { token }).me();
  } catch (err) {
    if ((err as deploykit.DeployKitError).code === "unauthorized")
      throw new CliError("The token was refused by the server.", EXIT_AUTH, "unauthorized");
    throw err;
  }
  const path = writeCredentials({ url, token, email: user.email, ...(apiKeyID ? { api_key_id: apiKeyID } : {}) }, ctx.env);
  ctx.result({ url, user: { id: user.id, email: user.email, name: user.name, role: user.role }, credentials: path }, () =>
    ctx.print(`Logged in to ${url} as ${ctx.bold(user.email)} (${user.role}). Credentials: ${path}`),
  );
}

export async function logout(ctx: Context): Promise<void> {
  const stored = readCredentials(ctx.env);
  let revoked = false;
  if (stored?.api_key_id) {
    // The key was minted for this login: revoke it, so logging out really ends the access.
    try {
      await new Client(stored.url, { token: stored.token }).deleteAPIKey(stored.api_key_id);
      revoked = true;
    } catch {
      // Unreachable server or key already gone: forgetting it locally is still what was asked.
    }
  }
  const removed = removeCredentials(ctx.env);
  ctx.result({ logged_out: removed, key_revoked: revoked, credentials: credentialsPath(ctx.env) }, () =>
    ctx.print(removed ? `Logged out${revoked ? " (the login's API key was revoked)" : ""}.` : "Not logged in."),
  );
}

export async function whoami(ctx: Context): Promise<void> {
  const c = ctx.client();
  const user = await c.me();
  ctx.result({ url: c.baseURL, user: { id: user.id, email: user.email, name: user.name, role: user.role } }, () =>
    ctx.print(`${user.email} (${user.name}, ${user.role}) on ${c.baseURL}`),
  );
}
