/** `logs`: a service's runtime logs (or a deployment's build log). */
import type { Client } from "../http/client.ts";
import * as deploykit from "../index.ts";
import { CliError, type Context, EXIT_NOT_FOUND, usage } from "./context.ts";
import { buildLine, readSSE } from "./sse.ts";
import { targetService } from "./target.ts";

export interface LogsOptions {
  follow?: boolean;
  since?: string;
  build?: boolean;
  deployment?: string;
  tail?: string;
}

/**
 * Without --follow the history is printed and the command ends once no line came for this long (the
 * stream has no end-of-history marker); the first wait starts when the stream is open.
 */
const HISTORY_IDLE_MS = 1000;
const FIRST_LINE_MS = 3000;

const base = (p: deploykit.Project, s: deploykit.Service) =>
  `/api/projects/${encodeURIComponent(p.id)}/services/${encodeURIComponent(s.id)}`;

export async function latestDeployment(c: Client, projectID: string, serviceID: string): Promise<deploykit.Deployment> {
  const d = (await c.findDeployments(projectID, serviceID, { limit: 1 })).items[0];
  if (!d) throw new CliError("The service has no deployment yet.", EXIT_NOT_FOUND, "not_found");
  return d;
}

/** Prints a build log until it ends; returns whether any line came. */
export async function streamBuildLog(ctx: Context, path: string, signal?: AbortSignal): Promise<void> {
  await readSSE(
    ctx.client(),
    path,
    (f) => {
      if (f.event === "end") return false;
      if (f.event !== "message" && f.event !== "log") return undefined;
      const line = buildLine(f.data);
      if (line === null) return undefined;
      if (ctx.json) process.stdout.write(`${JSON.stringify({ event: "build_log", line })}\n`);
      else process.stdout.write(`${line}\n`);
      return undefined;
    },
    signal,
  );
}

export async function logs(ctx: Context, opts: LogsOptions): Promise<void> {
  const c = ctx.client();
  const { project, service } = await targetService(ctx);
  const tail = Number.parseInt(opts.tail ?? "100", 10);
  if (!Number.isFinite(tail) || tail <= 0) throw usage("--tail must be a positive number.");
  if (opts.build) {
    const dep = opts.deployment ? { id: opts.deployment } : await latestDeployment(c, project.id, service.id);
    await streamBuildLog(ctx, `${base(project, service)}/deployments/${encodeURIComponent(dep.id)}/build-logs`);
    return;
  }
  let only: Set<string> | null = null;
  if (opts.deployment) {
    await c.findDeploymentByID(project.id, service.id, opts.deployment);
    const containers = (await c.findContainers(project.id, service.id, { deployment_id: opts.deployment, limit: 100 })).items;
    // Without -f, or once its containers are gone, the deployment's own route answers: it reads them
    // while Docker has them and serves the lines kept at their removal after.
    if (!opts.follow || containers.length === 0) {
      await printDeploymentLogs(ctx, { project, service, deploymentID: opts.deployment, tail, since: opts.since });
      return;
    }
    only = new Set(containers.map((x) => x.docker_container_id.slice(0, 12)));
  }
  const q = new URLSearchParams();
  q.set("tail", String(tail));
  if (opts.since) q.set("since", opts.since);
  const abort = new AbortController();
  let idle: NodeJS.Timeout | null = null;
  const idleAfter = (ms: number) => {
    if (opts.follow) return;
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => abort.abort(), ms);
  };
  const seen = new Set<string>();
  try {
    await readSSE(
      c,
      `${base(project, service)}/logs?${q}`,
      (f) => {
        if (f.event === "end") return false;
        const e = JSON.parse(f.data) as Record<string, unknown>;
        if (typeof e.line === "string") {
          const id = String(e.container_id ?? "");
          if (only && !only.has(id)) return undefined;
          idleAfter(HISTORY_IDLE_MS);
          seen.add(id);
          printLine(ctx, e, seen.size > 1);
        } else if (e.event === "dropped") ctx.info(ctx.yellow(`… ${String(e.count)} lines dropped (the terminal fell behind)`));
        else if (e.event === "container_exited") ctx.info(ctx.dim(`container ${String(e.container_id)} exited`));
        return undefined;
      },
      abort.signal,
      () => idleAfter(FIRST_LINE_MS),
    );
  } finally {
    if (idle) clearTimeout(idle);
  }
}

/** One log line: the object itself with --json, else its text (stderr's on stderr), with its container id when several wrote. */
function printLine(ctx: Context, e: Record<string, unknown>, withContainer: boolean): void {
  if (ctx.json) {
    process.stdout.write(`${JSON.stringify(e)}\n`);
    return;
  }
  const prefix = withContainer ? `${ctx.dim(String(e.container_id ?? ""))} ` : "";
  (e.stream === "stderr" ? process.stderr : process.stdout).write(`${prefix}${String(e.line)}\n`);
}

/**
 * `logs --deployment` from `GET …/deployments/{did}/logs`: the newest `tail` lines (since `--since`,
 * filtered here: the route has no window). Once the containers are gone it says so on stderr (with
 * -f too: nothing more will come).
 */
async function printDeploymentLogs(
  ctx: Context,
  o: { project: deploykit.Project; service: deploykit.Service; deploymentID: string; tail: number; since?: string | undefined },
): Promise<void> {
  const since = deploykit.parseLogSince(o.since, new Date()) ?? undefined;
  const res = await ctx
    .client()
    .deploymentLogs(o.project.id, o.service.id, o.deploymentID, { tail: since === undefined ? o.tail : deploykit.LOG_TAIL_MAX });
  const lines = res.data.filter((l) => deploykit.inWindow(l.ts, since)).slice(-o.tail);
  const several = new Set(lines.map((l) => l.container_id)).size > 1;
  for (const l of lines) printLine(ctx, { ...l }, several);
  if (res.source === "kept")
    ctx.info(
      ctx.dim(
        lines.length === 0
          ? "The deployment's containers are gone and no lines were kept."
          : "The deployment's containers are gone: these are the lines kept when they were removed.",
      ),
    );
}
