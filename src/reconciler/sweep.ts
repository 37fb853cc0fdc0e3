import * as deploykit from "../index.ts";
import { describe, ensureProjectNetwork, type PassContext, pageAll } from "./pass.ts";
import { allServiceIDs } from "./prefetch.ts";

export interface SweepResult {
  /** Ids of services that have Docker objects but no database row: their passes clean up. */
  orphans: string[];
  /** A network could not be removed yet (still in use): sweep again soon. */
  again: boolean;
  /** The first Docker error met; what depended on that list was skipped. */
  error?: unknown;
}

/**
 * The singleton sweep (original §7.3): one network per project, managed networks of deleted
 * projects removed, and orphaned services found. Docker is listed before the database is read, so
 * an object created meanwhile is never mistaken for an orphan. A failed list skips what depends on
 * it and is reported in `error`; a database error throws.
 */
export async function sweep(ctx: PassContext): Promise<SweepResult> {
  const errors: unknown[] = [];
  const networks = await settle(ctx.snapshot.networks(), errors);
  const containers = await settle(ctx.snapshot.containers(), errors);
  const volumes = await settle(ctx.snapshot.volumes(), errors);
  const projects = await pageAll((p) => ctx.projects.findProjects(p));
  const services = await allServiceIDs(ctx);
  const log = ctx.logger.child({ job: "sweep" });
  let again = false;

  if (networks) {
    const wanted = new Map(projects.map((p) => [deploykit.projectNetworkName(p.slug), p]));
    const have = new Set(networks.map((n) => n.name));
    for (const [name, project] of wanted) {
      if (have.has(name)) continue;
      try {
        await ensureProjectNetwork(ctx, project);
      } catch (err) {
        errors.push(err);
      }
    }
    for (const net of networks) {
      if (wanted.has(net.name)) continue;
      try {
        await ctx.provisioner.removeNetwork(net.name);
        ctx.snapshot.removeNetwork(net.name);
        log.info({ network: net.name }, "removed network of a deleted project");
      } catch (err) {
        // Typically containers of the deleted project are still attached; their passes remove them.
        log.debug({ network: net.name, err: describe(err) }, "network not removed yet");
        again = true;
      }
    }
  }

  const known = new Set(services);
  const orphans = new Set<string>();
  for (const c of containers ?? []) if (c.service_id && !known.has(c.service_id)) orphans.add(c.service_id);
  for (const v of volumes ?? []) {
    const id = v.labels[deploykit.LABEL_SERVICE_ID];
    if (id && !known.has(id)) orphans.add(id);
  }
  const result: SweepResult = { orphans: [...orphans], again };
  if (errors.length > 0) result.error = errors[0];
  return result;
}

async function settle<T>(p: Promise<T>, errors: unknown[]): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    errors.push(err);
    return null;
  }
}
