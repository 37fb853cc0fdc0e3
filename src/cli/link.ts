/** `link` and `unlink`: the directory's `.deploykit.json`. */
import { rmSync } from "node:fs";
import type * as deploykit from "../index.ts";
import { findLink, type Link, writeLink } from "./config.ts";
import { CliError, type Context, usage } from "./context.ts";
import { allProjects, allServices, pick } from "./target.ts";

/** Asks the person at the terminal to pick one; a usage error without a terminal. */
async function choose<T extends { id: string; name: string }>(ctx: Context, items: T[], what: string, flag: string): Promise<T> {
  if (items.length === 0) throw new CliError(`There is no ${what} to link.`, 4, "not_found");
  if (!process.stdin.isTTY || !process.stdout.isTTY || ctx.json) throw usage(`Which ${what}? Pass ${flag} (a name or an id).`);
  const { select, isCancel } = await import("@clack/prompts");
  const picked = await select({ message: `Which ${what}?`, options: items.map((i) => ({ value: i.id, label: i.name, hint: i.id })) });
  if (isCancel(picked)) throw new CliError("Cancelled.", 1, "cancelled");
  return items.find((i) => i.id === picked) as T;
}

export async function link(ctx: Context): Promise<void> {
  const c = ctx.client();
  const projects = await allProjects(c);
  const project = ctx.opts.project ? pick(projects, ctx.opts.project, "project") : await choose(ctx, projects, "project", "--project");
  const services = await allServices(c, project.id);
  let service: deploykit.Service | undefined;
  if (ctx.opts.service) service = pick(services, ctx.opts.service, "service");
  else if (services.length === 1) service = services[0];
  else if (services.length > 1 && process.stdin.isTTY && process.stdout.isTTY && !ctx.json)
    service = await choose(ctx, services, "service", "--service");
  const l: Link = { project_id: project.id, project_name: project.name, url: c.baseURL };
  if (service) {
    l.service_id = service.id;
    l.service_name = service.name;
  }
  const path = writeLink(ctx.cwd, l);
  ctx.result({ ...l, path }, () =>
    ctx.print(`Linked ${ctx.cwd} to project ${ctx.bold(project.name)}${service ? `, service ${ctx.bold(service.name)}` : ""} (${path}).`),
  );
}

export async function unlink(ctx: Context): Promise<void> {
  const found = findLink(ctx.cwd);
  if (found) rmSync(found.path, { force: true });
  ctx.result({ unlinked: Boolean(found), path: found?.path ?? null }, () =>
    ctx.print(found ? `Removed ${found.path}.` : "This directory is not linked."),
  );
}
