import { queryOptions, useMutation, useQuery } from "@tanstack/react-query";
import type { AuthTokens } from "../../../../../src/auth.ts";
import type { User, UserCreate } from "../../../../../src/user.ts";
import { api } from "../../../lib/api-client.ts";

export async function getCanRegister(): Promise<boolean> {
  try {
    const r = await api<{ can_register: boolean }>("/api/auth/register", { anonymous: true });
    return r.can_register;
  } catch {
    return false;
  }
}

export function canRegisterQueryOptions() {
  return queryOptions({ queryKey: ["auth", "can-register"], queryFn: getCanRegister, staleTime: 5_000 });
}

export function useCanRegister() {
  return useQuery(canRegisterQueryOptions());
}

/** `setup_token`: the one-time token of a fresh install (403 without it). */
export function register(input: Omit<UserCreate, "role"> & { setup_token: string }): Promise<{ user: User; tokens: AuthTokens }> {
  return api("/api/auth/register", { method: "POST", body: input, anonymous: true });
}

export function useRegister() {
  return useMutation({ mutationFn: register });
}
