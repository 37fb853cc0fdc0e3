import type { AuthTokens } from "../../../src/auth.ts";

/**
 * Token storage (localStorage, as in the original §4.9). Listeners hear every change so the
 * canvas socket can re-authenticate after a refresh and the auth context can notice a logout.
 */
const ACCESS = "access_token";
const REFRESH = "refresh_token";
const EXPIRES = "access_expires_at";

type Listener = (access: string | null) => void;
const listeners = new Set<Listener>();

function storage(): Storage | null {
  return typeof localStorage === "undefined" ? null : localStorage;
}

export function getAccessToken(): string | null {
  return storage()?.getItem(ACCESS) ?? null;
}

export function getRefreshToken(): string | null {
  return storage()?.getItem(REFRESH) ?? null;
}

/** Expiry of the access token in ms since the epoch, or null when unknown. */
export function getAccessExpiry(): number | null {
  const raw = storage()?.getItem(EXPIRES);
  if (!raw) return null;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? null : t;
}

export function setTokens(tokens: AuthTokens): void {
  const s = storage();
  if (!s) return;
  s.setItem(ACCESS, tokens.access_token);
  s.setItem(REFRESH, tokens.refresh_token);
  s.setItem(EXPIRES, tokens.expires_at);
  for (const l of listeners) l(tokens.access_token);
}

export function clearTokens(): void {
  const s = storage();
  if (!s) return;
  const had = s.getItem(ACCESS) !== null || s.getItem(REFRESH) !== null;
  s.removeItem(ACCESS);
  s.removeItem(REFRESH);
  s.removeItem(EXPIRES);
  if (had) for (const l of listeners) l(null);
}

// Another tab stored or cleared tokens: same listeners (the canvas socket re-authenticates).
if (typeof window !== "undefined") {
  window.addEventListener("storage", (e) => {
    if (e.key === ACCESS || e.key === null) for (const l of listeners) l(e.newValue ?? getAccessToken());
  });
}

export function onTokensChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}
