/**
 * Where the CLI keeps state: credentials in the user's XDG config directory (mode 0600), and the
 * directory's link to a project and service in `.deploykit.json`.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";

export interface Credentials {
  url: string;
  token: string;
  email?: string;
  /** Set when `login` minted the key (browser flow): `logout` revokes it. */
  api_key_id?: string;
}

export interface Link {
  project_id: string;
  project_name: string;
  service_id?: string;
  service_name?: string;
  /** The server the link was made against. */
  url?: string;
}

export const LINK_FILE = ".deploykit.json";

/** `$XDG_CONFIG_HOME/deploykit` (default `~/.config/deploykit`). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.startsWith("/") ? env.XDG_CONFIG_HOME : join(homedir(), ".config");
  return join(base, "deploykit");
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), "credentials.json");
}

export function readCredentials(env: NodeJS.ProcessEnv = process.env): Credentials | null {
  try {
    const c = JSON.parse(readFileSync(credentialsPath(env), "utf8")) as Partial<Credentials>;
    if (typeof c.url === "string" && typeof c.token === "string") return c as Credentials;
  } catch {
    // missing or unreadable: not logged in
  }
  return null;
}

/** Written 0600 in a 0700 directory: the token is a long-lived API key. */
export function writeCredentials(c: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const path = credentialsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of a file that already existed.
  chmodSync(path, 0o600);
  return path;
}

export function removeCredentials(env: NodeJS.ProcessEnv = process.env): boolean {
  const path = credentialsPath(env);
  if (!existsSync(path)) return false;
  rmSync(path, { force: true });
  return true;
}

/** The nearest `.deploykit.json` from `dir` upwards, like git finds its repository. */
export function findLink(dir: string): { path: string; link: Link } | null {
  let d = resolve(dir);
  for (;;) {
    const path = join(d, LINK_FILE);
    if (existsSync(path)) {
      try {
        const link = JSON.parse(readFileSync(path, "utf8")) as Link;
        if (typeof link.project_id === "string") return { path, link };
      } catch {
        // a broken file counts as no link
      }
      return null;
    }
    const up = dirname(d);
    if (up === d) return null;
    d = up;
  }
}

export function writeLink(dir: string, link: Link): string {
  const path = join(resolve(dir), LINK_FILE);
  writeFileSync(path, `${JSON.stringify(link, null, 2)}\n`);
  return path;
}
