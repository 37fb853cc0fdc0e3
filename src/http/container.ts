import type { FastifyInstance } from "fastify";
import type * as deploykit from "../index.ts";
import { type Deps, pageBody, pageOf, serviceInProject } from "./context.ts";
import * as present from "./present.ts";
import { ERRORS, ID, PAGE_QUERY, pageOfRef, params, query, str } from "./schemas.ts";

export function registerContainerRoutes(app: FastifyInstance, d: Pick<Deps, "services" | "containers" | "authenticated">): void {
  app.get<{
    Params: { projectId: string; serviceId: string };
    Querystring: { deployment_id?: string; status?: string; offset?: string; limit?: string };
  }>(
    "/api/projects/:projectId/services/:serviceId/containers",
    {
      onRequest: d.authenticated,
      schema: {
        tags: ["services"],
        summary: "List a service's containers, newest first",
        params: params("projectId", "serviceId"),
        querystring: query({ deployment_id: ID, status: str(50), ...PAGE_QUERY }),
        response: { 200: pageOfRef("Container"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId, serviceId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const page = pageOf(req.query);
      const filter: deploykit.ContainerFilter = { service_id: serviceId, ...page };
      if (req.query.deployment_id) filter.deployment_id = req.query.deployment_id;
      if (req.query.status) filter.status = req.query.status;
      return pageBody(await d.containers.findContainers(filter), page, present.container);
    },
  );
}
