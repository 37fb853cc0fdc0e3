import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { Navigate, useLocation } from "react-router";
import type { AuthTokens } from "../../../../src/auth.ts";
import type { User } from "../../../../src/user.ts";
import { ApiError, scheduleProactiveRefresh } from "../../lib/api-client.ts";
import { clearTokens, getAccessToken, onTokensChange, setTokens } from "../../lib/tokens.ts";
import { login as loginRequest, logout as logoutRequest } from "./api/login.ts";
import { meQueryOptions, useMe } from "./api/me.ts";

interface AuthContextValue {
  user: User | null;
  loading: boolean;
  login: (email: string, password: string) => Promise<void>;
  /** Stores tokens obtained elsewhere (registration) and loads the user. */
  signIn: (tokens: AuthTokens) => Promise<void>;
  logout: (all?: boolean) => Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [hasToken, setHasToken] = useState(() => getAccessToken() !== null);
  useEffect(
    () =>
      onTokensChange((t) => {
        setHasToken(t !== null);
        if (t === null) qc.removeQueries({ queryKey: meQueryOptions().queryKey });
        else scheduleProactiveRefresh();
      }),
    [qc],
  );
  useEffect(() => {
    if (getAccessToken()) scheduleProactiveRefresh();
  }, []);
  const me = useMe(hasToken);
  useEffect(() => {
    // A token the server no longer accepts (and could not refresh) is dropped.
    if (me.error instanceof ApiError && me.error.status === 401) clearTokens();
  }, [me.error]);

  const signIn = useCallback(
    async (tokens: AuthTokens) => {
      setTokens(tokens);
      await qc.fetchQuery(meQueryOptions());
    },
    [qc],
  );
  const login = useCallback(async (email: string, password: string) => signIn(await loginRequest({ email, password })), [signIn]);
  const logout = useCallback(
    async (all = false) => {
      try {
        await logoutRequest(all);
      } catch {
        // The session may already be gone; the local tokens go regardless.
      }
      clearTokens();
      qc.clear();
    },
    [qc],
  );
  const value = useMemo<AuthContextValue>(
    () => ({ user: hasToken ? (me.data ?? null) : null, loading: hasToken && me.isPending, login, signIn, logout }),
    [hasToken, me.data, me.isPending, login, signIn, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

/** The signed-in user; only call below RequireAuth. */
export function useUser(): User {
  const { user } = useAuth();
  if (!user) throw new Error("useUser without a signed-in user");
  return user;
}

function FullPageSpinner() {
  return (
    <div className="flex h-full items-center justify-center" aria-busy="true">
      <div className="size-6 animate-spin rounded-full border-2 border-muted border-t-primary" />
    </div>
  );
}

export function RequireAuth({ children }: { children: ReactNode }) {
  const { user, loading } = useAuth();
  const loc = useLocation();
  if (loading) return <FullPageSpinner />;
  if (!user) {
    const path = loc.pathname + loc.search;
    return <Navigate to={path === "/" ? "/login" : `/login?redirect=${encodeURIComponent(path)}`} replace />;
  }
  return <>{children}</>;
}

export function RequireAdmin({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  if (user?.role !== "admin") return <Navigate to="/projects" replace />;
  return <>{children}</>;
}

/** Only a local path may be a redirect target (never `//host` or a full URL). */
export function safeRedirect(raw: string | null): string {
  return raw?.startsWith("/") && !raw.startsWith("//") ? raw : "/projects";
}

export function GuestOnly({ children }: { children: ReactNode }) {
  const { user, loading } = useAuth();
  const loc = useLocation();
  if (loading) return <FullPageSpinner />;
  if (user) return <Navigate to={safeRedirect(new URLSearchParams(loc.search).get("redirect"))} replace />;
  return <>{children}</>;
}
