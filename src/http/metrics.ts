import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, principalOf, serviceInProject } from "./context.ts";
import type { Prometheus } from "./prometheus.ts";
import { ERRORS, params, query } from "./schemas.ts";

const tags = ["metrics"];
const SERIES = { type: "array", items: { type: ["number", "null"] } };

function unavailable(): deploykit.DeployKitError {
  return deploykit.errorf(deploykit.EUNAVAILABLE, "Metrics are not collected by this daemon.");
}

/**
 * Service metrics (issue 15). Routes read the store and the collector's newest samples, never Docker,
 * so their cost does not grow Docker's load with the number of viewers.
 */
export function registerMetricsRoutes(app: FastifyInstance, d: Pick<Deps, "projects" | "services" | "metrics" | "authenticated">): void {
  app.get<{ Params: { projectId: string; serviceId: string }; Querystring: { range?: string; replica?: string } }>(
    "/api/projects/:projectId/services/:serviceId/metrics",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "A service's CPU, memory, network and disk series with deployment markers",
        description:
          "Aligned series: `t` holds point starts (unix seconds); every array in `avg` and `max` has the same length, " +
          "null where nothing was sampled (the daemon or Docker was down). `replica=all` sums the replicas.",
        params: params("projectId", "serviceId"),
        querystring: query({ range: { type: "string", enum: [...deploykit.METRICS_RANGES] }, replica: { type: "string", maxLength: 8 } }),
        response: {
          200: {
            type: "object",
            properties: {
              range: { type: "string" },
              replica: { type: ["string", "integer"] },
              step_seconds: { type: "integer" },
              replicas: { type: "array", items: { type: "integer" } },
              t: { type: "array", items: { type: "integer" } },
              avg: { type: "object", properties: Object.fromEntries(deploykit.METRIC_FIELDS.map((f) => [f, SERIES])) },
              max: { type: "object", properties: { cpu_pct: SERIES, mem_bytes: SERIES, mem_nocache_bytes: SERIES } },
              markers: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    deployment_id: { type: "string" },
                    kind: { type: "string", enum: ["created", "serving", "failed"] },
                    at: { type: "string" },
                  },
                },
              },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (req) => {
      const { projectId, serviceId } = req.params;
      const range = deploykit.parseMetricsRange(req.query.range);
      const replica = deploykit.parseReplica(req.query.replica);
      await serviceInProject(d, projectId, serviceId);
      if (!d.metrics) throw unavailable();
      return d.metrics.store.findSeries({ project_id: projectId, service_id: serviceId, range, replica }, d.metrics.collector.intervalMs);
    },
  );

  app.get<{ Params: { projectId: string } }>(
    "/api/projects/:projectId/metrics/summary",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "The newest CPU and memory figures of every running service of a project (the canvas)",
        params: params("projectId"),
        response: {
          200: {
            type: "object",
            properties: {
              interval_seconds: { type: "number" },
              data: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    service_id: { type: "string" },
                    replicas: { type: "integer" },
                    cpu_pct: { type: ["number", "null"] },
                    cpu_limit_pct: { type: ["number", "null"] },
                    mem_bytes: { type: "number" },
                    mem_limit_bytes: { type: "number" },
                    ts: { type: "number" },
                  },
                },
              },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (req) => {
      await d.projects.findProjectByID(req.params.projectId);
      if (!d.metrics) throw unavailable();
      const mine = d.metrics.collector.latest().filter((s) => s.project_id === req.params.projectId);
      return { interval_seconds: d.metrics.collector.intervalMs / 1000, data: deploykit.summarize(mine) };
    },
  );
}

/**
 * GET /metrics: Prometheus text format for a caller with an API key (Bearer). Signed-in sessions are
 * refused, so a scrape config never holds a user's session. `enabled: false` (-metrics-endpoint=false) answers 404.
 */
export function registerPrometheusRoute(app: FastifyInstance, d: Pick<Deps, "authenticated">, prom: Prometheus | undefined): void {
  app.get(
    "/metrics",
    {
      onRequest: prom ? d.authenticated : [],
      schema: prom ? { tags: ["system"], summary: "Prometheus metrics (API key)" } : { hide: true, security: [] },
    },
    async (req, reply) => {
      if (!prom)
        return reply.code(404).send({ error: deploykit.ENOTFOUND, message: "The metrics endpoint is disabled (-metrics-endpoint=false)." });
      if (!principalOf(req).api_key_id)
        throw deploykit.errorf(deploykit.EFORBIDDEN, "Scrape /metrics with an API key (Authorization: Bearer <key>).");
      const body = await prom.render();
      return reply.header("Content-Type", prom.contentType).send(body);
    },
  );
}
