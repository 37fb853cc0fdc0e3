import { FieldErrorCollector } from "./errors.ts";
import type { User, UserCreate } from "./user.ts";
import { isBlank } from "./validate.ts";

export const ACCESS_TOKEN_TTL_MS = 15 * 60 * 1000;
export const REFRESH_TOKEN_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** No refresh extends a session past this age: the user signs in again (`-session-max-age`). */
export const SESSION_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
/** `last_used_at` of an API key is only written when the stored value is older than this. */
export const API_KEY_TOUCH_INTERVAL_MS = 60 * 1000;

/** Prefixes make leaked tokens recognisable to secret scanners. */
export const ACCESS_TOKEN_PREFIX = "dka_";
export const REFRESH_TOKEN_PREFIX = "dkr_";
export const API_KEY_PREFIX = "dk_";
/** Characters of an API key shown in lists (prefix included). */
export const API_KEY_DISPLAY_LENGTH = 11;

export const API_KEY_DESCRIPTION_MAX = 200;

/** A signed-in device. Only digests of its tokens are stored. */
export interface Session {
  id: string;
  user_id: string;
  expires_at: string;
  refresh_expires_at: string;
  created_at: string;
}

/** Long-lived credential for scripts and CI. The token itself is shown once, at creation. */
export interface APIKey {
  id: string;
  user_id: string;
  description: string;
  prefix: string;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
}

export interface APIKeyCreated extends APIKey {
  token: string;
}

export interface APIKeyCreate {
  description: string;
  /** RFC 3339; null or missing means no expiry. */
  expires_at?: string | null;
}

export interface AuthTokens {
  access_token: string;
  refresh_token: string;
  /** Expiry of the access token (RFC 3339). */
  expires_at: string;
}

/** Who is calling, as established by `authenticate`. */
export interface Principal {
  user: User;
  /** Set when authenticated by an access token. */
  session_id?: string;
  /** Set when authenticated by an API key. */
  api_key_id?: string;
  /** When the presented credential stops working (RFC 3339), null for keys without expiry. */
  expires_at: string | null;
}

export interface LoginInput {
  email: string;
  password: string;
}

export function validateLogin(input: LoginInput): void {
  const v = new FieldErrorCollector();
  if (isBlank(input.email)) v.add("email", "Email is required.");
  if (input.password === undefined || input.password === "") v.add("password", "Password is required.");
  v.throwIfAny();
}

/** `now` is passed in so the check is pure; an unparseable or past expiry is refused. */
export function validateAPIKeyCreate(input: APIKeyCreate, now: Date): void {
  const v = new FieldErrorCollector();
  if (isBlank(input.description)) v.add("description", "Description is required.");
  else if (input.description.length > API_KEY_DESCRIPTION_MAX)
    v.add("description", `Description is too long (max ${API_KEY_DESCRIPTION_MAX} characters).`);
  if (input.expires_at !== undefined && input.expires_at !== null && input.expires_at !== "") {
    const t = Date.parse(input.expires_at);
    if (Number.isNaN(t)) v.add("expires_at", "Expiry must be an RFC 3339 timestamp.");
    else if (t <= now.getTime()) v.add("expires_at", "Expiry must be in the future.");
  }
  v.throwIfAny();
}

/**
 * Device login (`deploykit login` without a token, RFC 8628 in spirit): the CLI asks for a code pair,
 * the signed-in user approves the short `user_code` in the web app, and the CLI's next poll with the
 * secret `device_code` receives a new API key of that user. The key is minted at that poll, so no
 * plaintext credential is ever stored; codes live 10 minutes and serve one key.
 */
export const DEVICE_CODE_PREFIX = "dkd_";
export const DEVICE_CODE_TTL_MS = 10 * 60 * 1000;
/** Seconds the CLI waits between polls. */
export const DEVICE_POLL_INTERVAL_SECONDS = 2;
/** User codes avoid vowels (no words) and look-alike characters: `BCDF-GHJK`. */
export const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";
export const DEVICE_PENDING = "pending";
export const DEVICE_APPROVED = "approved";
export const DEVICE_DENIED = "denied";
export type DeviceStatus = typeof DEVICE_PENDING | typeof DEVICE_APPROVED | typeof DEVICE_DENIED;

export interface DeviceLogin {
  user_code: string;
  /** What asked for it, as the CLI describes itself ("deploykit CLI on laptop"); shown on the approval page. */
  description: string;
  status: DeviceStatus;
  expires_at: string;
  created_at: string;
}

export interface DeviceLoginCreated extends DeviceLogin {
  /** The secret the CLI polls with; returned once. */
  device_code: string;
}

export type DevicePoll = { status: typeof DEVICE_PENDING } | { status: typeof DEVICE_APPROVED; key: APIKeyCreated };

/** "bcdf ghjk", "BCDFGHJK" and "BCDF-GHJK" are the same code; anything else is not one. */
export function normalizeUserCode(raw: string): string | null {
  const s = raw.toUpperCase().replace(/[\s-]/g, "");
  if (s.length !== 8 || [...s].some((ch) => !USER_CODE_ALPHABET.includes(ch))) return null;
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

/** Prefix of the one-time setup token (a leaked one is recognisable). */
export const SETUP_TOKEN_PREFIX = "dks_";

/**
 * The one-time secret that authorizes registering the first admin on a fresh install, so that only
 * someone who can read the data directory (or the daemon's log) can claim the instance — not whoever
 * reaches the port first, nor a web page in a LAN user's browser.
 */
export interface SetupGate {
  /** Constant-time comparison with the current token; false once consumed. */
  verify(token: string): boolean;
  /** The first admin exists: the token is forgotten (and its file removed). Idempotent. */
  consume(): void;
}

/**
 * AuthService owns credentials: passwords, sessions (access + refresh tokens) and API keys.
 * Plaintext tokens are returned to the caller once and never stored; only SHA-256 digests are.
 */
export interface AuthService {
  /** True only while no user exists. */
  canRegister(): Promise<boolean>;
  /**
   * Creates the first user as admin and signs them in, atomically: of many concurrent calls exactly
   * one succeeds. Throws ECONFLICT "Registration is closed.", EINVALID (fields).
   */
  register(input: UserCreate): Promise<{ user: User; tokens: AuthTokens }>;
  /** Throws EINVALID (fields), EUNAUTHORIZED "Invalid email or password.". */
  login(input: LoginInput): Promise<AuthTokens>;
  /**
   * Rotates the pair on the same session, never past the session's absolute lifetime. Presenting a
   * refresh token that was already rotated away revokes the whole session (reuse detection).
   * Throws EUNAUTHORIZED "Refresh token is required." / "Invalid refresh token." / "Refresh token has expired.".
   */
  refresh(refreshToken: string): Promise<AuthTokens>;
  /** Access token first, then API key. Throws EUNAUTHORIZED "Invalid or expired token.". */
  authenticate(token: string): Promise<Principal>;
  /**
   * Re-reads the credential behind a principal established earlier (a long-lived connection's): its
   * session or API key must still exist and be live, and its user must exist with the same role.
   * Unlike `authenticate` it does not care that a session's access token was rotated by a refresh.
   * Throws EUNAUTHORIZED "Credentials revoked." otherwise.
   */
  recheck(principal: Principal): Promise<void>;
  /** Ends one session. No error when it is already gone. */
  logout(sessionID: string): Promise<void>;
  /** Ends every session of the user. */
  logoutAll(userID: string): Promise<void>;
  /** Newest first; only the caller's keys. */
  findAPIKeys(userID: string): Promise<APIKey[]>;
  /**
   * Throws EINVALID (fields). `parentKeyID`: the API key the caller authenticated with, if any — the new
   * key then expires no later than it and is revoked with it (a key cannot outlive the key that made it).
   */
  createAPIKey(userID: string, input: APIKeyCreate, parentKeyID?: string): Promise<APIKeyCreated>;
  /** Throws ENOTFOUND "API key not found." also when the key belongs to someone else. */
  deleteAPIKey(userID: string, id: string): Promise<void>;
  /** Removes sessions whose refresh window has passed; returns how many. */
  purgeExpiredSessions(): Promise<number>;
  /** Starts a device login (anyone may: the code is worthless until a signed-in user approves it). Throws EINVALID (description). */
  createDeviceLogin(description: string): Promise<DeviceLoginCreated>;
  /** Throws ENOTFOUND "Unknown or expired code." (also for a code already used). */
  findDeviceLogin(userCode: string): Promise<DeviceLogin>;
  /**
   * The signed-in user approves (their new key is minted at the next poll) or denies the code.
   * Throws ENOTFOUND "Unknown or expired code.", ECONFLICT "This code was already approved or denied.".
   */
  decideDeviceLogin(userCode: string, userID: string, approve: boolean): Promise<DeviceLogin>;
  /**
   * The CLI's poll. Approved: mints the API key and forgets the code (one key per code).
   * Throws ENOTFOUND "Unknown or expired code.", EFORBIDDEN "The login was denied.".
   */
  pollDeviceLogin(deviceCode: string): Promise<DevicePoll>;
}
