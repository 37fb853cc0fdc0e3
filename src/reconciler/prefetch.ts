import * as deploykit from "../index.ts";

type ProjectReader = Pick<deploykit.ProjectService, "findProjects">;
type ServiceStore = Pick<deploykit.ServiceService, "findServices">;
type DeploymentStore = Pick<deploykit.DeploymentService, "findDeployments">;
type ContainerStore = Pick<deploykit.ContainerService, "findContainers">;

/** Lets timers and I/O run: the reconciler blocks the event loop for at most one short slice at a time. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Rows read per SQLite call while listing (each read is short; the loop turns between them). */
export const PREFETCH_PAGE = deploykit.MAX_LIMIT;

/** Every page of a list, yielding to the event loop between pages. */
export async function pageAllYielding<T>(
  find: (page: { offset: number; limit: number }) => Promise<deploykit.PageResult<T>>,
): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += PREFETCH_PAGE) {
    const page = await find({ offset, limit: PREFETCH_PAGE });
    out.push(...page.items);
    if (page.items.length < PREFETCH_PAGE || out.length >= page.total) return out;
    await yieldToLoop();
  }
}

/**
 * Every service id, project by project: a page of one project's services is served by the
 * (project_id, created_at) index, where a page of all services sorts the whole table each time
 * (170 ms a resync at 1,000 services, measured with bench/reconcile.ts fake 1000).
 */
export async function allServiceIDs(ctx: { projects: ProjectReader; services: ServiceStore }): Promise<string[]> {
  const ids: string[] = [];
  for (const project of await pageAllYielding((p) => ctx.projects.findProjects(p))) {
    for (const s of await pageAllYielding((p) => ctx.services.findServices({ project_id: project.id, ...p }))) ids.push(s.id);
    await yieldToLoop();
  }
  return ids;
}

interface Rows {
  deps: deploykit.Deployment[];
  containers: deploykit.Container[];
}

/**
 * What a resync's passes would each read from SQLite, read for all of them in a few paged queries
 * (issue 19: per-service reads were most of a pass at 1,000 services). An entry is used at most once,
 * by the first pass of its service, and only while it cannot be stale: any pass of that service that
 * ends after the read began, and any committed change naming it (`drop`), discards it; that pass
 * then reads for itself, as every pass outside a resync does.
 */
export class ResyncPrefetch {
  readonly #rows = new Map<string, Rows>();

  static async load(ctx: { deployments: DeploymentStore; containers: ContainerStore }): Promise<ResyncPrefetch> {
    const pf = new ResyncPrefetch();
    const status = [...deploykit.IN_FLIGHT_STATUSES];
    const deps = await pageAllYielding((p) => ctx.deployments.findDeployments({ status, ...p }));
    const containers = await pageAllYielding((p) => ctx.containers.findContainers({ ...p }));
    // Newest first within a service, as the per-service queries return them.
    for (const d of deps) pf.#entry(d.service_id).deps.push(d);
    for (const c of containers) pf.#entry(c.service_id).containers.push(c);
    return pf;
  }

  /** Marks every id as read (empty lists for services with no rows). */
  cover(ids: string[]): void {
    for (const id of ids) this.#entry(id);
  }

  #entry(id: string): Rows {
    let r = this.#rows.get(id);
    if (!r) {
      r = { deps: [], containers: [] };
      this.#rows.set(id, r);
    }
    return r;
  }

  /** The rows of one service, once; undefined when they were used or dropped. */
  take(id: string): Rows | undefined {
    const r = this.#rows.get(id);
    this.#rows.delete(id);
    return r;
  }

  drop(id: string): void {
    this.#rows.delete(id);
  }

  get size(): number {
    return this.#rows.size;
  }
}

/**
 * The service a committed change names (issue 11), and whether it needs a pass: a deployment created,
 * a service updated or deleted, a user's Stop, Start or Restart do; the reconciler's own status
 * changes only make rows read earlier stale.
 */
export function touchedService(e: deploykit.Event): { id: string; pass: boolean } | null {
  switch (e.type) {
    case deploykit.EVENT_DEPLOYMENT_CREATED:
      return { id: e.payload.deployment.service_id, pass: true };
    case deploykit.EVENT_SERVICE_UPDATED:
      return { id: e.payload.service.id, pass: true };
    case deploykit.EVENT_SERVICE_DELETED:
      return { id: e.payload.service_id, pass: true };
    case deploykit.EVENT_SERVICE_STATUS_CHANGED:
      return { id: e.payload.service_id, pass: e.payload.requested === true };
    case deploykit.EVENT_SERVICE_RESTARTED:
      return { id: e.payload.service_id, pass: true };
    default:
      return null;
  }
}
