import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, lstatSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as deploykit from "../../index.ts";

export const SETUP_TOKEN_FILE = "setup-token";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * The setup token of a fresh install, kept in `<data-dir>/setup-token` (mode 0600). Made when no user
 * exists; the same token is reused across restarts until the first admin registers, then the file
 * is removed. With users, any leftover file is removed at start.
 */
export class SetupToken implements deploykit.SetupGate {
  readonly path: string;
  #digest: Buffer | null;

  private constructor(path: string, token: string | null) {
    this.path = path;
    this.#digest = token === null ? null : digest(token);
  }

  /** Creates (or reuses) the token when `needed`, else removes any leftover file. */
  static prepare(dataDir: string, needed: boolean): { gate: SetupToken; token: string | null } {
    const path = join(dataDir, SETUP_TOKEN_FILE);
    if (!needed) {
      rmSync(path, { force: true });
      return { gate: new SetupToken(path, null), token: null };
    }
    let token = readExisting(path);
    if (token === null) {
      token = deploykit.SETUP_TOKEN_PREFIX + randomBytes(32).toString("base64url");
      rmSync(path, { force: true });
      // `wx`: never follow a symlink or truncate a file someone else put there.
      writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
    }
    chmodSync(path, 0o600);
    return { gate: new SetupToken(path, token), token };
  }

  verify(token: string): boolean {
    if (this.#digest === null || typeof token !== "string") return false;
    // Digests have equal length, so the comparison time does not depend on the presented token.
    return timingSafeEqual(digest(token.trim()), this.#digest);
  }

  consume(): void {
    this.#digest = null;
    rmSync(this.path, { force: true });
  }
}

function readExisting(path: string): string | null {
  try {
    if (!lstatSync(path).isFile()) return null;
    const t = readFileSync(path, "utf8").trim();
    return /^dks_[A-Za-z0-9_-]{43}$/.test(t) ? t : null;
  } catch {
    return null;
  }
}

/** `http://<addr>/setup?token=<token>`, with a wildcard listen address shown as localhost. */
export function setupURL(host: string, port: number, token: string): string {
  const h = host === "" || host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}/setup?token=${encodeURIComponent(token)}`;
}
