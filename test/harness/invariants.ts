import Docker from "dockerode";
import type { Daemon } from "./daemon.ts";
import { instanceFilter } from "./images.ts";
import { waitFor } from "./wait.ts";

/** A project with one staged service, ready to Apply. */
export async function stageProject(
  d: Daemon,
  name: string,
  services: { name: string; image: string; replicas?: number; volumes?: { name: string; mount_path: string }[] }[],
): Promise<{ id: string; slug: string }> {
  const p = await d.must<{ id: string; slug: string }>("POST", "/api/projects", 201, { body: { name } });
  for (const s of services) await d.must("POST", `/api/projects/${p.id}/services`, 201, { body: s });
  return p;
}

export async function apply(d: Daemon, projectID: string): Promise<{ applied_count: number }> {
  return await d.must("POST", `/api/projects/${projectID}/deploy`, 200);
}

interface Row {
  [k: string]: string | number | null;
}

/** What the database wants: every healthy/starting/pending deployment × replicas. */
export function dbState(d: Daemon) {
  return d.withDB((db) => ({
    projects: db.prepare("SELECT id, slug FROM projects").all() as Row[],
    services: db.prepare("SELECT id, project_id, name, status, active_deployment_id FROM services").all() as Row[],
    deployments: db
      .prepare("SELECT id, service_id, status, replicas, volumes, failure_reason, attempt_count FROM deployments ORDER BY created_at")
      .all() as Row[],
    containers: db
      .prepare("SELECT id, service_id, deployment_id, docker_container_id, replica_index, status FROM containers")
      .all() as Row[],
    pending: db.prepare("SELECT id, project_id, seq, op FROM pending_changes").all() as Row[],
  }));
}

export interface Violation {
  what: string;
  detail?: unknown;
}

/**
 * The catalogue's inv.sh: the database is intact, Docker matches it exactly (one container per desired
 * replica, nothing extra, rows true to Docker), every managed network belongs to a project, and no
 * deployment is left pending or starting. Returns the violations (empty when converged).
 */
export async function checkInvariants(d: Daemon, socketPath: string, opts: { allowInFlight?: boolean } = {}): Promise<Violation[]> {
  const out: Violation[] = [];
  const integ = d.integrity();
  if (integ.integrity !== "ok") out.push({ what: "integrity_check", detail: integ.integrity });
  if (integ.foreignKeyViolations > 0) out.push({ what: "foreign_key_check", detail: integ.foreignKeyViolations });
  const st = dbState(d);
  const instance = d.instanceID();
  const docker = new Docker({ socketPath, timeout: 15_000 });
  const containers = await docker.listContainers({ all: true, filters: instanceFilter(instance) });
  const networks = await docker.listNetworks({ filters: instanceFilter(instance) });

  const serviceByID = new Map(st.services.map((s) => [s.id, s]));
  const desired = new Map<string, Row>();
  for (const dep of st.deployments) {
    const svc = serviceByID.get(dep.service_id as string);
    if (!svc || svc.status === "stopped") continue;
    if (dep.status === "pending" || dep.status === "starting") {
      if (!opts.allowInFlight) out.push({ what: "deployment still in flight", detail: dep });
    }
    if (!["pending", "starting", "healthy"].includes(dep.status as string)) continue;
    // A deployment with a volume runs one container (never two on one volume).
    const withVolume = JSON.parse(String(dep.volumes ?? "[]")).length > 0;
    const replicas = withVolume ? 1 : Math.max(1, Number(dep.replicas));
    for (let r = 0; r < replicas; r++) desired.set(`${dep.id}/${r}`, dep);
  }
  const seen = new Map<string, string[]>();
  for (const c of containers) {
    const key = `${c.Labels["deploykit.deployment-id"]}/${c.Labels["deploykit.replica-index"]}`;
    seen.set(key, [...(seen.get(key) ?? []), c.Id]);
    if (!desired.has(key)) out.push({ what: "container not desired (leaked)", detail: { name: c.Names[0], state: c.State } });
    else if (c.State !== "running") out.push({ what: "desired container not running", detail: { name: c.Names[0], state: c.State } });
  }
  for (const [key, ids] of seen) if (ids.length > 1) out.push({ what: "duplicate containers", detail: { key, ids } });
  // The volume rule: never two containers (any state) of a service whose deployments mount a volume.
  const volumeServices = new Set(
    st.deployments.filter((dep) => JSON.parse(String(dep.volumes ?? "[]")).length > 0).map((dep) => String(dep.service_id)),
  );
  for (const [svc, n] of countBy(containers.map((c) => c.Labels["deploykit.service-id"] ?? "")))
    if (n > 1 && volumeServices.has(svc)) out.push({ what: "two containers of a volume service", detail: { service_id: svc, count: n } });
  for (const key of desired.keys()) if (!seen.has(key)) out.push({ what: "desired container missing", detail: key });

  const dockerIDs = new Set(containers.map((c) => c.Id));
  const rowIDs = new Map<string, number>();
  for (const row of st.containers) {
    const id = row.docker_container_id as string;
    rowIDs.set(id, (rowIDs.get(id) ?? 0) + 1);
    if (!dockerIDs.has(id)) out.push({ what: "container row without a Docker container", detail: row });
  }
  for (const [id, n] of rowIDs) if (n > 1) out.push({ what: "duplicate container rows", detail: id });
  for (const c of containers) if (!rowIDs.has(c.Id)) out.push({ what: "Docker container without a row", detail: c.Names[0] });

  // Issue 12: the serving deployment's running containers answer to the service name on the project
  // network (the alias is attached at promotion and reconciled after a restart).
  const slugByProject = new Map(st.projects.map((p) => [p.id, String(p.slug)]));
  for (const c of containers) {
    const svc = serviceByID.get(c.Labels["deploykit.service-id"] ?? "");
    if (!svc || c.State !== "running" || svc.active_deployment_id !== c.Labels["deploykit.deployment-id"]) continue;
    const network = `dk-${slugByProject.get(svc.project_id as string) ?? ""}`;
    const info = await docker.getContainer(c.Id).inspect();
    const aliases = info.NetworkSettings.Networks[network]?.Aliases ?? [];
    if (!aliases.includes(String(svc.name)))
      out.push({ what: "serving container without its service name", detail: { name: c.Names[0], network, aliases } });
  }

  const slugs = new Set(st.projects.map((p) => `dk-${p.slug}`));
  const netNames = networks.map((n) => n.Name);
  for (const n of netNames) if (!slugs.has(n)) out.push({ what: "network without a project (leaked)", detail: n });
  for (const [name, count] of countBy(netNames)) if (count > 1) out.push({ what: "duplicate network", detail: name });
  return out;
}

function countBy(xs: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** Waits until checkInvariants finds nothing; fails with the last violations. */
export async function waitConverged(d: Daemon, socketPath: string, timeoutMs = 60_000): Promise<void> {
  let last: Violation[] = [];
  try {
    await waitFor(
      async () => {
        last = await checkInvariants(d, socketPath).catch((err: Error) => [{ what: "check failed", detail: err.message }]);
        return last.length === 0;
      },
      { timeoutMs, intervalMs: 500, what: "Docker to converge to the database" },
    );
  } catch {
    throw new Error(
      `not converged after ${timeoutMs} ms: ${JSON.stringify(last, null, 1).slice(0, 3000)}\n--- daemon log:\n${d.log().slice(-3000)}`,
    );
  }
}
