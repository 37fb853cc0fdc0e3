import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { User, UserCreate, UserUpdate } from "../../../../../src/user.ts";
import { api } from "../../../lib/api-client.ts";

export async function getUsers(): Promise<User[]> {
  const all: User[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await api<{ data: User[]; total_count: number }>("/api/users", { query: { offset, limit: 100 } });
    all.push(...page.data);
    if (page.data.length < 100 || all.length >= page.total_count) return all;
  }
}

export function usersQueryOptions() {
  return queryOptions({ queryKey: ["users"], queryFn: getUsers });
}

export function useUsers() {
  return useQuery(usersQueryOptions());
}

export function useCreateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (input: UserCreate) => api<User>("/api/users", { method: "POST", body: input }),
    onSuccess: (u) => qc.setQueryData(usersQueryOptions().queryKey, (old: User[] | undefined) => [u, ...(old ?? [])]),
  });
}

export function useUpdateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, upd }: { id: string; upd: UserUpdate }) =>
      api<User>(`/api/users/${encodeURIComponent(id)}`, { method: "PATCH", body: upd }),
    onMutate: ({ id, upd }) => {
      const prev = qc.getQueryData(usersQueryOptions().queryKey);
      qc.setQueryData(usersQueryOptions().queryKey, (old: User[] | undefined) =>
        old?.map((u) =>
          u.id === id ? ({ ...u, ...Object.fromEntries(Object.entries(upd).filter(([k]) => k !== "password")) } as User) : u,
        ),
      );
      return { prev };
    },
    onError: (_e, _v, ctx) => {
      if (ctx?.prev) qc.setQueryData(usersQueryOptions().queryKey, ctx.prev);
    },
    onSuccess: (u) => qc.setQueryData(usersQueryOptions().queryKey, (old: User[] | undefined) => old?.map((x) => (x.id === u.id ? u : x))),
  });
}

export function useDeleteUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<void>(`/api/users/${encodeURIComponent(id)}`, { method: "DELETE" }),
    onMutate: (id) => {
      const prev = qc.getQueryData(usersQueryOptions().queryKey);
      qc.setQueryData(usersQueryOptions().queryKey, (old: User[] | undefined) => old?.filter((u) => u.id !== id));
      return { prev };
    },
    onError: (_e, _v, ctx) => {
      if (ctx?.prev) qc.setQueryData(usersQueryOptions().queryKey, ctx.prev);
    },
  });
}
