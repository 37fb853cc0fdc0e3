/** `status` and `open`. */
import type { Client } from "../http/client.ts";
import type * as deploykit from "../index.ts";
import { openBrowser } from "./auth.ts";
import type { Context } from "./context.ts";
import { allProjects, allServices, targetProject, targetService } from "./target.ts";

export interface ServiceStatus {
  id: string;
  name: string;
  status: string;
  image: string;
  urls: string[];
  last_deployment: { id: string; status: string; created_at: string; failure_reason?: string } | null;
}

/** Where a service answers: its domains over HTTPS, then its published ports on the server's host. */
export async function serviceURLs(c: Client, projectID: string, svc: deploykit.Service): Promise<string[]> {
  const urls: string[] = [];
  try {
    for (const d of await c.findDomains(projectID, svc.id)) if (!d.staged) urls.push(`https://${d.hostname}`);
  } catch {
    // A server without domains (or a member without access) still has its ports.
  }
  const host = new URL(c.baseURL).hostname;
  for (const p of svc.ports ?? []) {
    if (p.host_port && p.host_port > 0 && (p.protocol ?? "tcp") === "tcp")
      urls.push(`http://${host.includes(":") ? `[${host}]` : host}:${p.host_port}`);
  }
  return urls;
}

async function serviceStatus(c: Client, projectID: string, svc: deploykit.Service): Promise<ServiceStatus> {
  const [urls, deps] = await Promise.all([serviceURLs(c, projectID, svc), c.findDeployments(projectID, svc.id, { limit: 1 })]);
  const d = deps.items[0];
  return {
    id: svc.id,
    name: svc.name,
    status: svc.status,
    image: svc.image,
    urls,
    last_deployment: d
      ? { id: d.id, status: d.status, created_at: d.created_at, ...(d.failure_reason ? { failure_reason: d.failure_reason } : {}) }
      : null,
  };
}

export async function status(ctx: Context, opts: { all?: boolean }): Promise<void> {
  const c = ctx.client();
  const linked = !opts.all && (ctx.opts.project || ctx.link());
  const projects = linked ? [await targetProject(ctx)] : await allProjects(c);
  const out: { id: string; name: string; services: ServiceStatus[] }[] = [];
  for (const p of projects) {
    const services = await allServices(c, p.id);
    const wanted = ctx.opts.service ? services.filter((s) => s.id === ctx.opts.service || s.name === ctx.opts.service) : services;
    out.push({ id: p.id, name: p.name, services: await Promise.all(wanted.map((s) => serviceStatus(c, p.id, s))) });
  }
  ctx.result({ url: c.baseURL, projects: out }, () => {
    if (out.length === 0) ctx.print("No projects.");
    for (const p of out) {
      ctx.print(`${ctx.bold(p.name)} ${ctx.dim(p.id)}`);
      if (p.services.length === 0) ctx.print("  (no services)");
      for (const s of p.services) {
        const colour = s.status === "running" ? ctx.green : s.status === "failed" || s.status === "degraded" ? ctx.red : ctx.yellow;
        ctx.print(`  ${s.name.padEnd(24)} ${colour(s.status.padEnd(10))} ${s.urls.join(" ") || ctx.dim("no URL")}`);
        const d = s.last_deployment;
        if (d) ctx.print(`    last deployment ${d.id} ${d.status} ${d.created_at}${d.failure_reason ? ` — ${d.failure_reason}` : ""}`);
      }
    }
  });
}

export async function open(ctx: Context, opts: { canvas?: boolean; print?: boolean }): Promise<void> {
  const c = ctx.client();
  let url: string;
  if (opts.canvas) url = `${c.baseURL}/projects/${(await targetProject(ctx)).id}`;
  else {
    const { project, service } = await targetService(ctx);
    url = (await serviceURLs(c, project.id, service))[0] ?? `${c.baseURL}/projects/${project.id}`;
  }
  const opened = !opts.print && process.stdout.isTTY && openBrowser(url);
  ctx.result({ url, opened }, () => ctx.print(url));
}
