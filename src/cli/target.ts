/**
 * Which project and service a command acts on: `--project`/`--service` (a name or an id) first, else
 * the directory's link (`.deploykit.json`).
 */
import type { Client } from "../http/client.ts";
import type * as deploykit from "../index.ts";
import { CliError, type Context, EXIT_NOT_FOUND, usage } from "./context.ts";

async function all<T>(fetchPage: (q: { offset: number; limit: number }) => Promise<deploykit.PageResult<T>>): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await fetchPage({ offset, limit: 100 });
    out.push(...page.items);
    if (page.items.length < 100 || out.length >= page.total) return out;
  }
}

export const allProjects = (c: Client) => all((q) => c.findProjects(q));
export const allServices = (c: Client, projectID: string) => all((q) => c.findServices(projectID, q));

/** Exact id, then exact name, then a case-insensitive name; more than one match is a usage error. */
export function pick<T extends { id: string; name: string }>(items: T[], wanted: string, what: string): T {
  const byID = items.find((i) => i.id === wanted);
  if (byID) return byID;
  for (const match of [(i: T) => i.name === wanted, (i: T) => i.name.toLowerCase() === wanted.toLowerCase()]) {
    const found = items.filter(match);
    if (found.length === 1) return found[0] as T;
    if (found.length > 1) throw usage(`More than one ${what} is named "${wanted}": use its id (${found.map((f) => f.id).join(", ")}).`);
  }
  throw new CliError(`No ${what} "${wanted}".`, EXIT_NOT_FOUND, "not_found");
}

export async function findProject(c: Client, wanted: string): Promise<deploykit.Project> {
  return pick(await allProjects(c), wanted, "project");
}

export async function findService(c: Client, projectID: string, wanted: string): Promise<deploykit.Service> {
  return pick(await allServices(c, projectID), wanted, "service");
}

/** The project a command acts on; a usage error when neither a flag nor a link names one. */
export async function targetProject(ctx: Context): Promise<deploykit.Project> {
  const c = ctx.client();
  if (ctx.opts.project) return findProject(c, ctx.opts.project);
  const link = ctx.link();
  if (!link) throw usage("No project: run `deploykit link` here, or pass --project.");
  return c.findProjectByID(link.project_id);
}

/** The project and service a command acts on. */
export async function targetService(ctx: Context): Promise<{ project: deploykit.Project; service: deploykit.Service }> {
  const c = ctx.client();
  const project = await targetProject(ctx);
  if (ctx.opts.service) return { project, service: await findService(c, project.id, ctx.opts.service) };
  const link = ctx.link();
  if (link?.service_id && link.project_id === project.id) return { project, service: await c.findServiceByID(project.id, link.service_id) };
  const services = await allServices(c, project.id);
  if (services.length === 1) return { project, service: services[0] as deploykit.Service };
  throw usage(`No service: pass --service, or run \`deploykit link --service <name>\` (project ${project.name} has ${services.length}).`);
}
