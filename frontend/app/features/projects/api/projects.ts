import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import type { Project } from "../../../../../src/project.ts";
import { api } from "../../../lib/api-client.ts";

interface ListEnvelope<T> {
  data: T[];
  total_count: number;
}

export async function getProjects(): Promise<Project[]> {
  const all: Project[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await api<ListEnvelope<Project>>("/api/projects", { query: { offset, limit: 100 } });
    all.push(...page.data);
    if (page.data.length < 100 || all.length >= page.total_count) return all;
  }
}

export function projectsQueryOptions() {
  return queryOptions({ queryKey: ["projects"], queryFn: getProjects });
}

export function useProjects() {
  return useQuery(projectsQueryOptions());
}

export function getProject(id: string): Promise<Project> {
  return api<Project>(`/api/projects/${encodeURIComponent(id)}`);
}

/** Every per-project query key starts with this prefix, so invalidating it refreshes the project. */
export function projectQueryOptions(id: string) {
  return queryOptions({ queryKey: ["projects", id], queryFn: () => getProject(id) });
}

export function useProject(id: string) {
  return useQuery(projectQueryOptions(id));
}

export function createProject(name: string): Promise<Project> {
  return api<Project>("/api/projects", { method: "POST", body: { name } });
}

export function useCreateProject() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: createProject,
    onSuccess: (p) => {
      qc.setQueryData(projectsQueryOptions().queryKey, (old: Project[] | undefined) => [p, ...(old ?? []).filter((x) => x.id !== p.id)]);
      qc.setQueryData(projectQueryOptions(p.id).queryKey, p);
    },
  });
}

/** A project rename is staged (returns the pending change). */
export function renameProject(id: string, name: string): Promise<PendingChange> {
  return api<PendingChange>(`/api/projects/${encodeURIComponent(id)}`, { method: "PATCH", body: { name } });
}

export function deleteProject(id: string): Promise<void> {
  return api<void>(`/api/projects/${encodeURIComponent(id)}`, { method: "DELETE" });
}

export function useDeleteProject() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: deleteProject,
    onMutate: async (id) => {
      await qc.cancelQueries({ queryKey: projectsQueryOptions().queryKey, exact: true });
      const prev = qc.getQueryData(projectsQueryOptions().queryKey);
      qc.setQueryData(projectsQueryOptions().queryKey, (old: Project[] | undefined) => old?.filter((p) => p.id !== id));
      return { prev };
    },
    onError: (_e, _id, ctx) => {
      if (ctx?.prev) qc.setQueryData(projectsQueryOptions().queryKey, ctx.prev);
    },
    onSuccess: (_v, id) => qc.removeQueries({ queryKey: projectQueryOptions(id).queryKey }),
  });
}
