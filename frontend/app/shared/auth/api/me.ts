import { queryOptions, useQuery } from "@tanstack/react-query";
import type { User } from "../../../../../src/user.ts";
import { api } from "../../../lib/api-client.ts";

export function getMe(): Promise<User> {
  return api<User>("/api/auth/me");
}

export function meQueryOptions() {
  return queryOptions({ queryKey: ["auth", "me"], queryFn: getMe, staleTime: 60_000 });
}

export function useMe(enabled: boolean) {
  return useQuery({ ...meQueryOptions(), enabled });
}
