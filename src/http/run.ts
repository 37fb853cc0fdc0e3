import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, pageBody, pageOf, serviceInProject } from "./context.ts";
import * as present from "./present.ts";
import { ERRORS, PAGE_QUERY, pageOfRef, params, query, ref } from "./schemas.ts";

type PS = { Params: { projectId: string; serviceId: string } };
const tags = ["services"];

function unavailable(): never {
  throw deploykit.errorf(deploykit.EUNAVAILABLE, "Cron runs are not available on this server.");
}

/** Cron runs (issue 16): the paged history and "Run now". Members may do both, as with Restart. */
export function registerRunRoutes(app: FastifyInstance, d: Pick<Deps, "services" | "runs" | "cron" | "authenticated">): void {
  app.get<PS & { Querystring: { offset?: string; limit?: string } }>(
    "/api/projects/:projectId/services/:serviceId/runs",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "List a cron service's runs, newest first (status, exit code, log tail)",
        params: params("projectId", "serviceId"),
        querystring: query(PAGE_QUERY),
        response: { 200: pageOfRef("ServiceRun"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId, serviceId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const runs = d.runs ?? unavailable();
      const page = pageOf(req.query);
      return pageBody(await runs.findRuns({ service_id: serviceId, ...page }), page, present.run);
    },
  );

  app.post<PS>(
    "/api/projects/:projectId/services/:serviceId/runs",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Run a cron service now (not staged); recorded as skipped while a run is still going",
        params: params("projectId", "serviceId"),
        response: { 201: ref("ServiceRun"), ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId, serviceId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const cron = d.cron ?? unavailable();
      const run = await cron.runNow(serviceId);
      return reply.code(201).send(present.run(run));
    },
  );
}
