import { queryOptions, useQuery } from "@tanstack/react-query";
import type { MaskedEnvVar } from "../../../../../src/envvar.ts";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import { api } from "../../../lib/api-client.ts";
import { useStageMutation } from "../../pending-changes/api/pending-changes.ts";

/** Whose variables: the project, its shared variables (id: the project), a canvas group, or a deployed service. */
export interface EnvOwner {
  scope: "project" | "shared" | "group" | "service";
  id: string;
}

export function ownerPath(pid: string, owner: EnvOwner): string {
  const p = `/api/projects/${encodeURIComponent(pid)}`;
  if (owner.scope === "project") return `${p}/env-vars`;
  if (owner.scope === "shared") return `${p}/shared/env-vars`;
  if (owner.scope === "group") return `${p}/groups/${encodeURIComponent(owner.id)}/env-vars`;
  return `${p}/services/${encodeURIComponent(owner.id)}/env-vars`;
}

/** Values are masked: the list never carries them (see revealEnvVar). */
export async function getEnvVars(pid: string, owner: EnvOwner): Promise<MaskedEnvVar[]> {
  return (await api<{ data: MaskedEnvVar[] }>(ownerPath(pid, owner))).data;
}

/** One value, on request (audited server-side); refused for a sealed variable. Never cached. */
export async function revealEnvVar(pid: string, owner: EnvOwner, id: string): Promise<string> {
  const r = await api<{ value: string }>(`${ownerPath(pid, owner)}/${encodeURIComponent(id)}/reveal`, { method: "POST" });
  return r.value;
}

export function envVarsQueryOptions(pid: string, owner: EnvOwner) {
  const key =
    owner.scope === "project"
      ? (["projects", pid, "env-vars"] as const)
      : owner.scope === "shared"
        ? (["projects", pid, "shared", "env-vars"] as const)
        : owner.scope === "group"
          ? (["projects", pid, "groups", owner.id, "env-vars"] as const)
          : (["projects", pid, "services", owner.id, "env-vars"] as const);
  return queryOptions({ queryKey: [...key], queryFn: () => getEnvVars(pid, owner) });
}

export function useEnvVars(pid: string, owner: EnvOwner, enabled = true) {
  return useQuery({ ...envVarsQueryOptions(pid, owner), enabled });
}

export function useCreateEnvVar(pid: string, owner: EnvOwner) {
  return useStageMutation(
    pid,
    (v: { key: string; value: string; sealed?: boolean }) => api<PendingChange>(ownerPath(pid, owner), { method: "POST", body: v }),
    (v) => ({
      op: "env_var.create",
      target_type: "env_var",
      target_id: owner.id,
      payload: v.sealed ? { scope: owner.scope, key: v.key, sealed: true } : { scope: owner.scope, key: v.key, value: v.value },
    }),
  );
}

export function useUpdateEnvVar(pid: string, owner: EnvOwner) {
  return useStageMutation(
    pid,
    (v: { envVar: MaskedEnvVar; value: string }) =>
      api<PendingChange>(`${ownerPath(pid, owner)}/${encodeURIComponent(v.envVar.id)}`, { method: "PATCH", body: { value: v.value } }),
    (v) => ({
      op: "env_var.update",
      target_type: "env_var",
      target_id: v.envVar.id,
      payload: v.envVar.sealed
        ? { scope: owner.scope, scope_id: owner.id, key: v.envVar.key, sealed: true }
        : { value: v.value, scope: owner.scope, scope_id: owner.id, key: v.envVar.key },
    }),
  );
}

/** Stages a new key; Deploy rewrites the references to the old one (docs/variables.md, Renames). */
export function useRenameEnvVar(pid: string, owner: EnvOwner) {
  return useStageMutation(
    pid,
    (v: { envVar: MaskedEnvVar; key: string }) =>
      api<PendingChange>(`${ownerPath(pid, owner)}/${encodeURIComponent(v.envVar.id)}`, { method: "PATCH", body: { key: v.key } }),
    (v) => ({
      op: "env_var.update",
      target_type: "env_var",
      target_id: v.envVar.id,
      payload: { scope: owner.scope, scope_id: owner.id, key: v.envVar.key, new_key: v.key, ...(v.envVar.sealed ? { sealed: true } : {}) },
    }),
  );
}

export function useDeleteEnvVar(pid: string, owner: EnvOwner) {
  return useStageMutation(
    pid,
    (v: MaskedEnvVar) => api<PendingChange>(`${ownerPath(pid, owner)}/${encodeURIComponent(v.id)}`, { method: "DELETE" }),
    (v) => ({
      op: "env_var.delete",
      target_type: "env_var",
      target_id: v.id,
      payload: { scope: owner.scope, scope_id: owner.id, key: v.key, ...(v.sealed ? { sealed: true } : {}) },
    }),
  );
}

/** Stages a variable on a service that exists only as a staged create. */
export function useCreatePendingServiceEnvVar(pid: string, tempID: string) {
  return useStageMutation(
    pid,
    (v: { key: string; value: string }) =>
      api<PendingChange>(`/api/projects/${encodeURIComponent(pid)}/pending-services/${encodeURIComponent(tempID)}/env-vars`, {
        method: "POST",
        body: v,
      }),
    (v) => ({
      op: "env_var.create",
      target_type: "env_var",
      parent_temp_id: tempID,
      payload: { scope: "service", key: v.key, value: v.value },
    }),
  );
}
