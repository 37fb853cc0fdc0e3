import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, pageBody, pageOf, principalOf, serviceInProject } from "./context.ts";
import * as present from "./present.ts";
import { body, ENV_LIST, ERRORS, PAGE_QUERY, pageOfRef, params, query, ref, SERVICE_SETTINGS, str } from "./schemas.ts";
import { type ServiceCreateRequest, stageServiceCreate } from "./service-create.ts";

const tags = ["services"];
type PS = { Params: { projectId: string; serviceId: string } };
const COORD = { type: "number" } as const;

type ServiceRouteDeps = Pick<Deps, "projects" | "services" | "canvas" | "pendingChanges" | "listCache" | "hub" | "authenticated">;

export function registerServiceRoutes(app: FastifyInstance, d: ServiceRouteDeps): void {
  app.post<{ Params: { projectId: string }; Body: ServiceCreateRequest }>(
    "/api/projects/:projectId/services",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Stage a new service (service.create)",
        description:
          "Deviation from the original (which created the service at once): like the canvas, this places a canvas " +
          "node and stages `service.create` with the node id as `target_temp_id`; the service exists after Deploy. " +
          "Responds 201 with the PendingChange.",
        params: params("projectId"),
        body: body({ name: str(1000), ...SERVICE_SETTINGS, env_vars: ENV_LIST, position_x: COORD, position_y: COORD }),
        response: { 201: ref("PendingChange"), ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId } = req.params;
      await d.projects.findProjectByID(projectId);
      const { node, change } = await stageServiceCreate(d, projectId, principalOf(req).user.id, req.body);
      d.hub.broadcast(projectId, "node:upserted", present.node(node));
      d.hub.broadcast(projectId, "pending-change:added", present.pendingChange(change));
      return reply.code(201).send(present.pendingChange(change));
    },
  );

  app.get<{ Params: { projectId: string }; Querystring: { name?: string; status?: string; offset?: string; limit?: string } }>(
    "/api/projects/:projectId/services",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "List a project's services, newest first",
        params: params("projectId"),
        querystring: query({ name: str(1000), status: str(50), ...PAGE_QUERY }),
        response: { 200: pageOfRef("Service"), ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId } = req.params;
      const page = pageOf(req.query);
      const filter: deploykit.ServiceFilter = { project_id: projectId, ...page };
      if (req.query.name) filter.name = req.query.name;
      if (req.query.status) filter.status = req.query.status;
      const key = JSON.stringify([filter.name, filter.status, page.offset, page.limit]);
      reply.type("application/json; charset=utf-8");
      const hit = d.listCache.get(projectId, key);
      if (hit !== undefined) return reply.send(hit);
      const gen = d.listCache.generation(projectId);
      const body = JSON.stringify(pageBody(await d.services.findServices(filter), page, present.service));
      d.listCache.set(projectId, key, gen, body);
      return reply.send(body);
    },
  );

  app.get<PS>(
    "/api/projects/:projectId/services/:serviceId",
    {
      onRequest: d.authenticated,
      schema: { tags, summary: "Get a service", params: params("projectId", "serviceId"), response: { 200: ref("Service"), ...ERRORS } },
    },
    async (req) => present.service(await serviceInProject(d, req.params.projectId, req.params.serviceId)),
  );

  app.patch<PS & { Body: deploykit.ServiceUpdate }>(
    "/api/projects/:projectId/services/:serviceId",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary:
          "Stage service settings (service.update): name, icon, image, ports, volumes, resources, replicas, stop_grace_seconds, start_command, entrypoint, restart_policy, restart_max_retries, pre_deploy_command, cron_schedule, cron_timeout_seconds, healthcheck_path, healthcheck_timeout_seconds, drain_seconds, repo_url, branch, root_dir, dockerfile_path",
        params: params("projectId", "serviceId"),
        body: body({ name: str(1000), ...SERVICE_SETTINGS }),
        response: { 200: ref("PendingChange"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId, serviceId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const upd = req.body ?? {};
      if (Object.keys(upd).length === 0) throw deploykit.errorf(deploykit.EINVALID, "Nothing to change.");
      deploykit.validateServiceUpdate(upd);
      const change = await d.pendingChanges.appendPendingChange(projectId, principalOf(req).user.id, {
        op: deploykit.OP_SERVICE_UPDATE,
        target_type: deploykit.TARGET_SERVICE,
        target_id: serviceId,
        payload: { ...upd },
      });
      d.hub.broadcast(projectId, "pending-change:added", present.pendingChange(change));
      return present.pendingChange(change);
    },
  );

  for (const run of [deploykit.RUN_STOP, deploykit.RUN_START] as const) {
    app.post<PS>(
      `/api/projects/:projectId/services/:serviceId/${run}`,
      {
        onRequest: d.authenticated,
        schema: {
          tags,
          summary:
            run === deploykit.RUN_STOP
              ? "Stop the service now (not staged): its containers are stopped and kept down; the deployment is kept"
              : "Start a stopped service now (not staged): the same deployment runs again",
          params: params("projectId", "serviceId"),
          response: { 200: ref("Service"), ...ERRORS },
        },
      },
      async (req) => {
        const { projectId, serviceId } = req.params;
        await serviceInProject(d, projectId, serviceId);
        // The store publishes the change after commit; the reconciler and the canvas react to it.
        const { service, previous } = await d.services.setRunState(serviceId, run);
        if (service.status !== previous) d.listCache.invalidate(projectId);
        return present.service(service);
      },
    );
  }

  app.post<PS>(
    "/api/projects/:projectId/services/:serviceId/restart",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Restart the serving containers now (not staged), one replica at a time, each back through the readiness gate",
        params: params("projectId", "serviceId"),
        response: { 200: ref("Service"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId, serviceId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      // The store publishes the request after commit; the reconciler passes over the service.
      return present.service(await d.services.requestRestart(serviceId));
    },
  );

  app.delete<PS>(
    "/api/projects/:projectId/services/:serviceId",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Stage a service deletion (service.delete)",
        params: params("projectId", "serviceId"),
        response: { 200: ref("PendingChange"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId, serviceId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const change = await d.pendingChanges.appendPendingChange(projectId, principalOf(req).user.id, {
        op: deploykit.OP_SERVICE_DELETE,
        target_type: deploykit.TARGET_SERVICE,
        target_id: serviceId,
        payload: {},
      });
      d.hub.broadcast(projectId, "pending-change:added", present.pendingChange(change));
      return present.pendingChange(change);
    },
  );
}
