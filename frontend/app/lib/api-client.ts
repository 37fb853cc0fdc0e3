import type { AuthTokens } from "../../../src/auth.ts";
import type { FieldErrors } from "../../../src/errors.ts";
import { clearTokens, getAccessExpiry, getAccessToken, getRefreshToken, setTokens } from "./tokens.ts";

/** A failed API call, mapped from the `{error, message, errors?}` envelope. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldErrors | undefined;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, code: string, message: string, fields?: FieldErrors, retryAfterSeconds?: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfterSeconds = retryAfterSeconds;
  }
  /** First message for a field, if the server named it. */
  field(name: string): string | undefined {
    return this.fields?.[name]?.[0];
  }
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.fields) {
      const first = Object.values(err.fields)[0]?.[0];
      if (first && err.message === "Validation failed.") return first;
    }
    if (err.status === 429 && err.retryAfterSeconds) return `${err.message} Try again in ${err.retryAfterSeconds}s.`;
    return err.message;
  }
  if (err instanceof Error) return err.message;
  return "Something went wrong.";
}

export function fieldError(err: unknown, field: string): string | undefined {
  return err instanceof ApiError ? err.field(field) : undefined;
}

let refreshing: Promise<boolean> | null = null;

/**
 * One shared in-flight refresh: every request that hits a 401 while a refresh is running waits for
 * the same promise, so a rotated refresh token is never presented twice (which would revoke the
 * session through reuse detection). Across tabs a Web Lock serialises refreshes, and a tab that
 * finds the stored pair already rotated by another tab uses it instead of refreshing again.
 */
export function refreshTokens(): Promise<boolean> {
  if (refreshing) return refreshing;
  const token = getRefreshToken();
  if (!token) return Promise.resolve(false);
  const run = async (): Promise<boolean> => {
    const current = getRefreshToken();
    if (current === null) return false;
    if (current !== token) return true;
    try {
      const res = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (!res.ok) {
        if (getRefreshToken() === token) clearTokens();
        return false;
      }
      setTokens((await res.json()) as AuthTokens);
      return true;
    } catch {
      return false;
    }
  };
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  // The lock resolves to what run resolves to (its type nests the promise; the async function unwraps it).
  const exclusive = async (): Promise<boolean> => (locks ? locks.request("deploykit-token-refresh", run) : run());
  const p: Promise<boolean> = exclusive().finally(() => {
    refreshing = null;
  });
  refreshing = p;
  return p;
}

/** Refreshes ahead of expiry so long-lived views (the canvas socket) never see a dead token. */
let timer: ReturnType<typeof setTimeout> | null = null;
export function scheduleProactiveRefresh(): void {
  if (timer) clearTimeout(timer);
  const exp = getAccessExpiry();
  if (exp === null || !getRefreshToken()) return;
  const wait = Math.max(5_000, exp - Date.now() - 60_000);
  timer = setTimeout(async () => {
    timer = null;
    // Another tab may have refreshed meanwhile (the expiry is shared through localStorage).
    const now = getAccessExpiry();
    if (now !== null && now - Date.now() > 90_000) return scheduleProactiveRefresh();
    if (await refreshTokens()) scheduleProactiveRefresh();
  }, wait);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  query?: Record<string, string | number | undefined>;
  /** Skip the Authorization header (public routes). */
  anonymous?: boolean;
}

async function toError(res: Response): Promise<ApiError> {
  let body: { error?: string; message?: string; errors?: FieldErrors } = {};
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy error page): fall back to the status text.
  }
  const retry = res.headers.get("Retry-After");
  return new ApiError(
    res.status,
    body.error ?? "internal",
    body.message ?? (res.statusText || `Request failed (${res.status}).`),
    body.errors,
    retry ? Number(retry) : undefined,
  );
}

function buildURL(path: string, query?: RequestOptions["query"]): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/** Sends a request with the bearer token; on 401 refreshes once (shared) and retries. */
export async function rawRequest(path: string, opts: RequestOptions = {}, init: RequestInit = {}): Promise<Response> {
  const send = () => {
    const headers = new Headers(init.headers);
    const token = opts.anonymous ? null : getAccessToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (opts.body !== undefined) headers.set("Content-Type", "application/json");
    return fetch(buildURL(path, opts.query), {
      ...init,
      method: opts.method ?? "GET",
      headers,
      body: opts.body === undefined ? null : JSON.stringify(opts.body),
      signal: opts.signal ?? null,
    });
  };
  let res = await send();
  if (res.status === 401 && !opts.anonymous && getRefreshToken()) {
    if (await refreshTokens()) res = await send();
  }
  return res;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await rawRequest(path, opts);
  if (!res.ok) throw await toError(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export { toError as responseError };
