import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, pageBody, pageOf, principalOf } from "./context.ts";
import * as present from "./present.ts";
import { body, ERRORS, NAME, NO_CONTENT, PAGE_QUERY, pageOfRef, params, query, ref, str } from "./schemas.ts";

const tags = ["projects"];
type P = { Params: { projectId: string } };

type ProjectRouteDeps = Pick<Deps, "projects" | "pendingChanges" | "reconciler" | "listCache" | "hub" | "authenticated">;

export function registerProjectRoutes(app: FastifyInstance, d: ProjectRouteDeps): void {
  app.post<{ Body: deploykit.ProjectCreate }>(
    "/api/projects",
    {
      onRequest: d.authenticated,
      schema: { tags, summary: "Create a project", body: body({ name: NAME }), response: { 201: ref("Project"), ...ERRORS } },
    },
    async (req, reply) => {
      const project = await d.projects.createProject({ name: req.body.name });
      d.reconciler.trigger();
      return reply.code(201).send(present.project(project));
    },
  );

  app.get<{ Querystring: { name?: string; offset?: string; limit?: string } }>(
    "/api/projects",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "List projects, newest first",
        querystring: query({ name: str(1000), ...PAGE_QUERY }),
        response: { 200: pageOfRef("Project"), ...ERRORS },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      const filter: deploykit.ProjectFilter = { ...page };
      if (req.query.name) filter.name = req.query.name;
      return pageBody(await d.projects.findProjects(filter), page, present.project);
    },
  );

  app.get<P>(
    "/api/projects/:projectId",
    {
      onRequest: d.authenticated,
      schema: { tags, summary: "Get a project", params: params("projectId"), response: { 200: ref("Project"), ...ERRORS } },
    },
    async (req) => present.project(await d.projects.findProjectByID(req.params.projectId)),
  );

  app.patch<P & { Body: deploykit.ProjectUpdate }>(
    "/api/projects/:projectId",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Stage a rename (project.update)",
        params: params("projectId"),
        body: body({ name: NAME }),
        response: { 200: ref("PendingChange"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId } = req.params;
      const name = req.body.name;
      if (name === undefined) throw deploykit.errorf(deploykit.EINVALID, "Name is required.");
      deploykit.validateProjectUpdate({ name });
      const change = await d.pendingChanges.appendPendingChange(projectId, principalOf(req).user.id, {
        op: deploykit.OP_PROJECT_UPDATE,
        target_type: deploykit.TARGET_PROJECT,
        target_id: projectId,
        payload: { name },
      });
      d.hub.broadcast(projectId, "pending-change:added", present.pendingChange(change));
      return present.pendingChange(change);
    },
  );

  app.delete<P>(
    "/api/projects/:projectId",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Delete a project now (its containers, network and volumes are removed by the reconciler)",
        params: params("projectId"),
        response: { 204: NO_CONTENT, ...ERRORS },
      },
    },
    async (req, reply) => {
      await d.projects.deleteProject(req.params.projectId);
      d.listCache.invalidate(req.params.projectId);
      d.hub.closeRoom(req.params.projectId);
      d.reconciler.trigger();
      return reply.code(204).send();
    },
  );
}
