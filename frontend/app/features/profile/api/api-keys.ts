import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { APIKey, APIKeyCreate, APIKeyCreated } from "../../../../../src/auth.ts";
import { api } from "../../../lib/api-client.ts";

export async function getAPIKeys(): Promise<APIKey[]> {
  return (await api<{ data: APIKey[] }>("/api/api-keys")).data;
}

export function apiKeysQueryOptions() {
  return queryOptions({ queryKey: ["api-keys"], queryFn: getAPIKeys });
}

export function useAPIKeys() {
  return useQuery(apiKeysQueryOptions());
}

export function createAPIKey(input: APIKeyCreate): Promise<APIKeyCreated> {
  return api<APIKeyCreated>("/api/api-keys", { method: "POST", body: input });
}

export function useCreateAPIKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: createAPIKey,
    onSuccess: (k) => {
      const { token: _token, ...key } = k;
      qc.setQueryData(apiKeysQueryOptions().queryKey, (old: APIKey[] | undefined) => [key, ...(old ?? [])]);
    },
  });
}

export function deleteAPIKey(id: string): Promise<void> {
  return api<void>(`/api/api-keys/${encodeURIComponent(id)}`, { method: "DELETE" });
}

export function useDeleteAPIKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: deleteAPIKey,
    onMutate: (id) => {
      const prev = qc.getQueryData(apiKeysQueryOptions().queryKey);
      qc.setQueryData(apiKeysQueryOptions().queryKey, (old: APIKey[] | undefined) => old?.filter((k) => k.id !== id));
      return { prev };
    },
    onError: (_e, _id, ctx) => {
      if (ctx?.prev) qc.setQueryData(apiKeysQueryOptions().queryKey, ctx.prev);
    },
  });
}
