import type { AuthTokens, LoginInput } from "../../../../../src/auth.ts";
import { api } from "../../../lib/api-client.ts";

export function login(input: LoginInput): Promise<AuthTokens> {
  return api<AuthTokens>("/api/auth/login", { method: "POST", body: input, anonymous: true });
}

/** Ends this session only (`logout-all` ends every session of the user). */
export function logout(all = false): Promise<void> {
  return api<void>(all ? "/api/auth/logout-all" : "/api/auth/logout", { method: "POST" });
}
