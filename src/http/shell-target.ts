import * as deploykit from "../index.ts";

/** Every running container of a service (all pages). */
export async function runningContainers(
  containers: Pick<deploykit.ContainerService, "findContainers">,
  serviceID: string,
): Promise<deploykit.Container[]> {
  const out: deploykit.Container[] = [];
  for (let offset = 0; ; offset += deploykit.MAX_LIMIT) {
    const page = await containers.findContainers({
      service_id: serviceID,
      status: deploykit.CONTAINER_RUNNING,
      offset,
      limit: deploykit.MAX_LIMIT,
    });
    out.push(...page.items);
    if (page.items.length < deploykit.MAX_LIMIT || out.length >= page.total) return out;
  }
}

/**
 * The container a shell opens in: the asked replica (default the lowest running one), and during a
 * rollout, when two containers serve one replica index, the active deployment's. Also returns the
 * running replica indexes. Throws ENOTFOUND when there is no such container.
 */
export function shellTarget(
  service: deploykit.Service,
  containers: deploykit.Container[],
  replica: number | null,
): { target: deploykit.Container; replicas: number[] } {
  const replicas = [...new Set(containers.map((x) => x.replica_index))].sort((a, b) => a - b);
  if (containers.length === 0) throw deploykit.errorf(deploykit.ENOTFOUND, "The service has no running container.");
  const want = replica ?? (replicas[0] as number);
  const candidates = containers.filter((x) => x.replica_index === want);
  if (candidates.length === 0)
    throw deploykit.errorf(deploykit.ENOTFOUND, `No running container for replica ${want} (running: ${replicas.join(", ")}).`);
  const target = candidates.find((x) => x.deployment_id === service.active_deployment_id) ?? (candidates[0] as deploykit.Container);
  return { target, replicas };
}
