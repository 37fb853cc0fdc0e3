import * as deploykit from "../index.ts";
import type { DB, Tx } from "./db.ts";
import { newID } from "./db.ts";
import * as device from "./device.ts";
import { PasswordHasher, type PasswordOptions } from "./password.ts";
import { generateToken, tokenDigest } from "./tokens.ts";
import { countUsers, createUser, findUserRowByEmail, toUser } from "./user.ts";

interface SessionRow {
  id: string;
  user_id: string;
  access_token_hash: string;
  refresh_token_hash: string;
  expires_at: string;
  refresh_expires_at: string;
  created_at: string;
}

interface APIKeyRow {
  id: string;
  user_id: string;
  description: string;
  prefix: string;
  token_hash: string;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
}

export interface AuthOptions extends PasswordOptions {
  /** Absolute session lifetime: refreshes never extend a session past it (default 30 days). */
  sessionMaxAgeMs?: number;
}

const INVALID_CREDENTIALS = "Invalid email or password.";
const INVALID_TOKEN = "Invalid or expired token.";

export { generateToken, tokenDigest };

function plusMs(d: Date, ms: number): string {
  return new Date(d.getTime() + ms).toISOString();
}

export class AuthService implements deploykit.AuthService {
  readonly #db: DB;
  readonly #passwords: PasswordHasher;
  readonly #maxAgeMs: number;

  constructor(db: DB, opts: AuthOptions = {}) {
    this.#db = db;
    this.#passwords = new PasswordHasher(opts);
    this.#maxAgeMs = opts.sessionMaxAgeMs ?? deploykit.SESSION_MAX_AGE_MS;
  }

  async canRegister(): Promise<boolean> {
    return this.#db.read((tx) => countUsers(tx) === 0);
  }

  async register(input: deploykit.UserCreate): Promise<{ user: deploykit.User; tokens: deploykit.AuthTokens }> {
    // Cheap early refusal; the authoritative check is inside the write transaction below.
    if (!(await this.canRegister())) throw deploykit.errorf(deploykit.ECONFLICT, "Registration is closed.");
    const candidate = { ...input, role: deploykit.ROLE_ADMIN };
    deploykit.validateUserCreate(candidate);
    const hash = await this.#passwords.hash(input.password);
    return this.#db.write((tx) => {
      // BEGIN IMMEDIATE serialises writers, so of many concurrent registrations only the first sees zero users.
      if (countUsers(tx) > 0) throw deploykit.errorf(deploykit.ECONFLICT, "Registration is closed.");
      const user = createUser(tx, candidate, hash, deploykit.ROLE_ADMIN);
      return { user, tokens: createSession(tx, user.id) };
    });
  }

  async login(input: deploykit.LoginInput): Promise<deploykit.AuthTokens> {
    deploykit.validateLogin(input);
    const row = this.#db.read((tx) => findUserRowByEmail(tx, input.email));
    if (!row) {
      await this.#passwords.verifyNothing(input.password);
      throw deploykit.errorf(deploykit.EUNAUTHORIZED, INVALID_CREDENTIALS);
    }
    const verdict = await this.#passwords.verify(input.password, row.password_hash);
    if (!verdict.ok) throw deploykit.errorf(deploykit.EUNAUTHORIZED, INVALID_CREDENTIALS);
    // A bcrypt (or weaker argon2id) hash is replaced now that the plaintext is known to be right.
    const rehash = verdict.rehash ? await this.#passwords.hash(input.password) : undefined;
    return this.#db.write((tx) => {
      // The user may have been deleted, or the password changed, while the hash was checked.
      const current = tx.get<{ password_hash: string }>("SELECT password_hash FROM users WHERE id = ?", row.id);
      if (!current || current.password_hash !== row.password_hash) throw deploykit.errorf(deploykit.EUNAUTHORIZED, INVALID_CREDENTIALS);
      if (rehash) tx.run("UPDATE users SET password_hash = ? WHERE id = ?", rehash, row.id);
      return createSession(tx, row.id);
    });
  }

  async refresh(refreshToken: string): Promise<deploykit.AuthTokens> {
    if (typeof refreshToken !== "string" || refreshToken.trim() === "")
      throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Refresh token is required.");
    const digest = tokenDigest(refreshToken);
    // Revocations must commit, so the transaction returns the verdict and the throw happens after it.
    const result = this.#db.write((tx): deploykit.AuthTokens | "reused" | "expired" | "invalid" => {
      const session = tx.get<SessionRow>("SELECT * FROM sessions WHERE refresh_token_hash = ?", digest);
      if (!session) {
        const rotated = tx.get<{ session_id: string }>("SELECT session_id FROM rotated_refresh_tokens WHERE token_hash = ?", digest);
        if (!rotated) return "invalid";
        tx.run("DELETE FROM sessions WHERE id = ?", rotated.session_id);
        return "reused";
      }
      const end = Date.parse(session.created_at) + this.#maxAgeMs;
      if (session.refresh_expires_at <= tx.now || end <= tx.nowDate.getTime()) {
        tx.run("DELETE FROM sessions WHERE id = ?", session.id);
        return "expired";
      }
      tx.run("INSERT INTO rotated_refresh_tokens (token_hash, session_id, rotated_at) VALUES (?, ?, ?)", digest, session.id, tx.now);
      const tokens = newTokens(tx);
      tx.run(
        "UPDATE sessions SET access_token_hash = ?, refresh_token_hash = ?, expires_at = ?, refresh_expires_at = ? WHERE id = ?",
        tokenDigest(tokens.access_token),
        tokenDigest(tokens.refresh_token),
        tokens.expires_at,
        new Date(Math.min(tx.nowDate.getTime() + deploykit.REFRESH_TOKEN_TTL_MS, end)).toISOString(),
        session.id,
      );
      return tokens;
    });
    if (result === "invalid") throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Invalid refresh token.");
    if (result === "expired") throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Refresh token has expired.");
    if (result === "reused") throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Refresh token reuse detected; the session was revoked.");
    return result;
  }

  async authenticate(token: string): Promise<deploykit.Principal> {
    if (typeof token !== "string" || token === "") throw deploykit.errorf(deploykit.EUNAUTHORIZED, INVALID_TOKEN);
    const digest = tokenDigest(token);
    const found = this.#db.read((tx) => {
      const session = tx.get<SessionRow>("SELECT * FROM sessions WHERE access_token_hash = ? AND expires_at > ?", digest, tx.now);
      if (session) {
        const principal: deploykit.Principal = {
          user: loadUser(tx, session.user_id),
          session_id: session.id,
          expires_at: session.expires_at,
        };
        return { principal, touch: false };
      }
      const key = tx.get<APIKeyRow>(
        "SELECT * FROM api_keys WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)",
        digest,
        tx.now,
      );
      if (!key) throw deploykit.errorf(deploykit.EUNAUTHORIZED, INVALID_TOKEN);
      const principal: deploykit.Principal = { user: loadUser(tx, key.user_id), api_key_id: key.id, expires_at: key.expires_at };
      // Writing on every request would turn each API call into a disk sync; a minute's precision is enough.
      const touch = key.last_used_at === null || tx.nowDate.getTime() - Date.parse(key.last_used_at) >= deploykit.API_KEY_TOUCH_INTERVAL_MS;
      return { principal, touch };
    });
    if (found.touch && found.principal.api_key_id) {
      const id = found.principal.api_key_id;
      this.#db.write((tx) => tx.run("UPDATE api_keys SET last_used_at = ? WHERE id = ?", tx.now, id));
    }
    return found.principal;
  }

  async recheck(principal: deploykit.Principal): Promise<void> {
    const live = this.#db.read((tx) => {
      if (principal.session_id !== undefined) {
        if (!tx.get("SELECT 1 FROM sessions WHERE id = ? AND refresh_expires_at > ?", principal.session_id, tx.now)) return false;
      } else if (principal.api_key_id !== undefined) {
        const key = "SELECT 1 FROM api_keys WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)";
        if (!tx.get(key, principal.api_key_id, tx.now)) return false;
      } else return false;
      const user = tx.get<{ role: string }>("SELECT role FROM users WHERE id = ?", principal.user.id);
      return user !== undefined && user.role === principal.user.role;
    });
    if (!live) throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Credentials revoked.");
  }

  async logout(sessionID: string): Promise<void> {
    this.#db.write((tx) => tx.run("DELETE FROM sessions WHERE id = ?", sessionID));
  }

  async logoutAll(userID: string): Promise<void> {
    this.#db.write((tx) => tx.run("DELETE FROM sessions WHERE user_id = ?", userID));
  }

  async findAPIKeys(userID: string): Promise<deploykit.APIKey[]> {
    return this.#db.read((tx) =>
      tx.all<APIKeyRow>("SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at DESC, rowid DESC", userID).map(toAPIKey),
    );
  }

  async createAPIKey(userID: string, input: deploykit.APIKeyCreate, parentKeyID?: string): Promise<deploykit.APIKeyCreated> {
    return this.#db.write((tx) => insertAPIKey(tx, userID, input, parentKeyID));
  }

  async deleteAPIKey(userID: string, id: string): Promise<void> {
    this.#db.write((tx) => {
      if (tx.run("DELETE FROM api_keys WHERE id = ? AND user_id = ?", id, userID).changes === 0)
        throw deploykit.errorf(deploykit.ENOTFOUND, "API key not found.");
    });
  }

  async purgeExpiredSessions(): Promise<number> {
    return this.#db.write((tx) => tx.run("DELETE FROM sessions WHERE refresh_expires_at <= ?", tx.now).changes);
  }

  async createDeviceLogin(description: string): Promise<deploykit.DeviceLoginCreated> {
    return this.#db.write((tx) => device.create(tx, description));
  }

  async findDeviceLogin(userCode: string): Promise<deploykit.DeviceLogin> {
    return this.#db.read((tx) => device.find(tx, userCode));
  }

  async decideDeviceLogin(userCode: string, userID: string, approve: boolean): Promise<deploykit.DeviceLogin> {
    return this.#db.write((tx) => device.decide(tx, userCode, userID, approve));
  }

  async pollDeviceLogin(deviceCode: string): Promise<deploykit.DevicePoll> {
    return this.#db.write((tx) => device.poll(tx, deviceCode, insertAPIKey));
  }
}

/** Creates an API key inside the caller's transaction (key creation and device logins share it). */
export function insertAPIKey(tx: Tx, userID: string, input: deploykit.APIKeyCreate, parentKeyID?: string): deploykit.APIKeyCreated {
  deploykit.validateAPIKeyCreate(input, tx.nowDate);
  if (!tx.get("SELECT 1 FROM users WHERE id = ?", userID)) throw deploykit.errorf(deploykit.ENOTFOUND, "User not found.");
  let expires = input.expires_at ? new Date(input.expires_at).toISOString() : null;
  if (parentKeyID !== undefined) {
    const parent = tx.get<APIKeyRow>("SELECT * FROM api_keys WHERE id = ? AND user_id = ?", parentKeyID, userID);
    if (!parent) throw deploykit.errorf(deploykit.EUNAUTHORIZED, INVALID_TOKEN);
    if (parent.expires_at !== null && (expires === null || expires > parent.expires_at)) expires = parent.expires_at;
  }
  const token = generateToken(deploykit.API_KEY_PREFIX);
  const key: deploykit.APIKey = {
    id: newID(),
    user_id: userID,
    description: input.description.trim(),
    prefix: token.slice(0, deploykit.API_KEY_DISPLAY_LENGTH),
    expires_at: expires,
    last_used_at: null,
    created_at: tx.now,
  };
  tx.run(
    "INSERT INTO api_keys (id, user_id, description, prefix, token_hash, expires_at, last_used_at, created_at, parent_id) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
    key.id,
    userID,
    key.description,
    key.prefix,
    tokenDigest(token),
    expires,
    tx.now,
    parentKeyID ?? null,
  );
  return { ...key, token };
}

function loadUser(tx: Tx, id: string): deploykit.User {
  const row = tx.get<Parameters<typeof toUser>[0]>("SELECT * FROM users WHERE id = ?", id);
  if (!row) throw deploykit.errorf(deploykit.EUNAUTHORIZED, INVALID_TOKEN);
  return toUser(row);
}

function newTokens(tx: Tx): deploykit.AuthTokens {
  return {
    access_token: generateToken(deploykit.ACCESS_TOKEN_PREFIX),
    refresh_token: generateToken(deploykit.REFRESH_TOKEN_PREFIX),
    expires_at: plusMs(tx.nowDate, deploykit.ACCESS_TOKEN_TTL_MS),
  };
}

function createSession(tx: Tx, userID: string): deploykit.AuthTokens {
  const tokens = newTokens(tx);
  tx.run(
    "INSERT INTO sessions (id, user_id, access_token_hash, refresh_token_hash, expires_at, refresh_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    newID(),
    userID,
    tokenDigest(tokens.access_token),
    tokenDigest(tokens.refresh_token),
    tokens.expires_at,
    plusMs(tx.nowDate, deploykit.REFRESH_TOKEN_TTL_MS),
    tx.now,
  );
  return tokens;
}

function toAPIKey(r: APIKeyRow): deploykit.APIKey {
  return {
    id: r.id,
    user_id: r.user_id,
    description: r.description,
    prefix: r.prefix,
    expires_at: r.expires_at,
    last_used_at: r.last_used_at,
    created_at: r.created_at,
  };
}
