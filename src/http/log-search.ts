import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, serviceInProject } from "./context.ts";
import { ERRORS, INT_QUERY, params, query, str } from "./schemas.ts";

const tags = ["services"];

const LOG_LINE = {
  type: "object",
  properties: {
    container_id: { type: "string", description: "First 12 characters of the Docker container id." },
    replica: { type: "integer" },
    stream: { type: "string", enum: ["stdout", "stderr"] },
    ts: { type: "string", description: "Docker's RFC 3339 timestamp (nanoseconds)." },
    line: { type: "string" },
  },
} as const;

const TIME = { type: "string", maxLength: 64, description: "A duration back from now (90s, 10m, 2h, 1d) or an RFC 3339 time." };
const SEARCH_QUERY = query({
  q: {
    type: "string",
    maxLength: 1024,
    description: `Text (case-insensitive) or, with regex, a pattern; at most ${deploykit.LOG_PATTERN_MAX} characters.`,
  },
  regex: { type: "string", maxLength: 8, description: "true: q is a JavaScript regular expression." },
  stream: { type: "string", maxLength: 16, description: "stdout or stderr." },
  replica: { type: "string", maxLength: 8, description: "Replica index." },
  since: TIME,
  until: TIME,
  limit: INT_QUERY,
});

type SP = { Params: { projectId: string; serviceId: string }; Querystring: deploykit.LogQueryInput };

/** Every container of the service that Docker still has (running or not), with its replica. */
async function targetsOf(d: Pick<Deps, "containers">, filter: deploykit.ContainerFilter): Promise<deploykit.LogTarget[]> {
  const out: deploykit.LogTarget[] = [];
  for (let offset = 0; ; offset += deploykit.MAX_LIMIT) {
    const page = await d.containers.findContainers({ ...filter, offset, limit: deploykit.MAX_LIMIT });
    for (const c of page.items) out.push({ docker_container_id: c.docker_container_id, replica: c.replica_index });
    if (page.items.length < deploykit.MAX_LIMIT || out.length >= page.total) return out;
  }
}

/**
 * A deployment's runtime logs: read from its containers while Docker has them, else the lines kept
 * when the reconciler removed them. The newest `tail` lines in time order.
 */
async function deploymentLogs(
  d: Pick<Deps, "containers" | "deployments" | "logs">,
  deploymentID: string,
  tail: number,
): Promise<{ source: "containers" | "kept"; lines: deploykit.LogLine[] }> {
  const targets = await targetsOf(d, { deployment_id: deploymentID });
  const lines: deploykit.LogLine[] = [];
  let read = 0;
  for (const t of targets) {
    try {
      await d.logs.history(t.docker_container_id, { tail }, (l) => {
        lines.push({ ...l, replica: t.replica });
        return undefined;
      });
      read++;
    } catch (err) {
      // Removed since the row was read: the reconciler kept its lines.
      if (deploykit.errorCode(err) !== deploykit.ENOTFOUND) throw err;
    }
  }
  if (read > 0) return { source: "containers", lines: lines.sort(deploykit.compareLogLines).slice(-tail) };
  return { source: "kept", lines: (await d.deployments.findDeploymentLogs(deploymentID)).slice(-tail) };
}

type LogSearchRouteDeps = Pick<Deps, "services" | "deployments" | "containers" | "logs" | "authenticated">;

export function registerLogSearchRoutes(app: FastifyInstance, d: LogSearchRouteDeps): void {
  app.get<SP>(
    "/api/projects/:projectId/services/:serviceId/logs/search",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Search the recent logs of the service's containers",
        description:
          "Reads Docker's json-file logs of every container the service still has, filtered by text or regex, stream, replica and " +
          `time window; returns the newest \`limit\` matches (default ${deploykit.LOG_SEARCH_LIMIT_DEFAULT}, max ${deploykit.LOG_SEARCH_LIMIT_MAX}) in time order. ` +
          `Bounded: at most ${deploykit.LOG_SEARCH_SCAN_MAX} lines are read and ${deploykit.LOG_SEARCH_BUDGET_MS / 1000} s spent; ` +
          "`truncated` says the scan stopped early (narrow the window). Without since/until the newest lines are scanned; with since, " +
          "the window from its start. Bad fields → 422 invalid naming them (q for a pattern that does not compile).",
        params: params("projectId", "serviceId"),
        querystring: SEARCH_QUERY,
        response: {
          200: {
            type: "object",
            properties: { data: { type: "array", items: LOG_LINE }, scanned: { type: "integer" }, truncated: { type: "boolean" } },
          },
          ...ERRORS,
        },
      },
    },
    async (req) => {
      const q = deploykit.parseLogQuery(req.query, new Date());
      await serviceInProject(d, req.params.projectId, req.params.serviceId);
      const res = await d.logs.search(await targetsOf(d, { service_id: req.params.serviceId }), q);
      return { data: res.lines, scanned: res.scanned, truncated: res.truncated };
    },
  );

  app.get<SP>(
    "/api/projects/:projectId/services/:serviceId/logs/download",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Download the selected window of the service's logs as a text file",
        description:
          "The search above as a file: one line per log line, `time<TAB>replica<TAB>stream<TAB>text`, oldest first; " +
          `limit defaults to and is at most ${deploykit.LOG_DOWNLOAD_LIMIT_MAX}. A last line starting with "#" says when the scan stopped early.`,
        params: params("projectId", "serviceId"),
        querystring: SEARCH_QUERY,
        response: { 200: { description: "text/plain attachment", type: "string" }, ...ERRORS },
      },
    },
    async (req, reply) => {
      const input = { ...req.query, limit: req.query.limit ?? String(deploykit.LOG_DOWNLOAD_LIMIT_MAX) };
      const q = deploykit.parseLogQuery(input, new Date(), deploykit.LOG_DOWNLOAD_LIMIT_MAX);
      const svc = await serviceInProject(d, req.params.projectId, req.params.serviceId);
      const res = await d.logs.search(await targetsOf(d, { service_id: svc.id }), q);
      let text = res.lines.map(deploykit.formatLogLine).join("\n");
      if (res.lines.length > 0) text += "\n";
      if (res.truncated) text += `# truncated: the scan stopped after ${res.scanned} lines; narrow the window for the rest\n`;
      return reply
        .header("content-type", "text/plain; charset=utf-8")
        .header("content-disposition", `attachment; filename="${deploykit.logFileName(svc.name, new Date())}"`)
        .send(text);
    },
  );

  app.get<{ Params: { projectId: string; serviceId: string; deploymentId: string }; Querystring: { tail?: string } }>(
    "/api/projects/:projectId/services/:serviceId/deployments/:deploymentId/logs",
    {
      onRequest: d.authenticated,
      schema: {
        tags: ["deployments"],
        summary: "A deployment's runtime logs (from its containers, or the lines kept when they were removed)",
        description:
          "`source` is `containers` while Docker has the deployment's containers, else `kept`: the last " +
          `${deploykit.KEPT_LOG_LINES} lines (at most ${deploykit.KEPT_LOG_MAX_CHARS / 1024} KB) captured when the reconciler removed them ` +
          `(empty when none were). \`tail\`: newest lines returned (default ${deploykit.LOG_TAIL_DEFAULT}, max ${deploykit.LOG_TAIL_MAX}).`,
        params: params("projectId", "serviceId", "deploymentId"),
        querystring: query({ tail: INT_QUERY }),
        response: {
          200: {
            type: "object",
            properties: { source: str(16), data: { type: "array", items: LOG_LINE } },
          },
          ...ERRORS,
        },
      },
    },
    async (req) => {
      const { projectId, serviceId, deploymentId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const dep = await d.deployments.findDeploymentByID(deploymentId);
      if (dep.service_id !== serviceId) throw deploykit.errorf(deploykit.ENOTFOUND, "Deployment not found.");
      const res = await deploymentLogs(d, dep.id, deploykit.normalizeLogTail(req.query.tail));
      return { source: res.source, data: res.lines };
    },
  );
}
