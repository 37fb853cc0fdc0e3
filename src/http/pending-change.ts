import type { FastifyInstance } from "fastify";
import { type Deps, pageBody, pageOf } from "./context.ts";
import * as present from "./present.ts";
import { ERRORS, NO_CONTENT, PAGE_QUERY, pageOfRef, params, query, ref } from "./schemas.ts";

const tags = ["pending-changes"];
type P = { Params: { projectId: string } };

export function registerPendingChangeRoutes(
  app: FastifyInstance,
  d: Pick<Deps, "projects" | "pendingChanges" | "listCache" | "hub" | "authenticated">,
): void {
  app.get<P & { Querystring: { offset?: string; limit?: string } }>(
    "/api/projects/:projectId/pending-changes",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "The staged-edit log, by seq, one page at a time",
        description: "`total_count` is the log's length: the Deploy bar shows it without loading the entries.",
        params: params("projectId"),
        querystring: query(PAGE_QUERY),
        response: { 200: pageOfRef("PendingChange"), ...ERRORS },
      },
    },
    async (req) => {
      await d.projects.findProjectByID(req.params.projectId);
      const page = pageOf(req.query);
      return pageBody(await d.pendingChanges.findPendingChangePage(req.params.projectId, page), page, present.pendingChange);
    },
  );

  app.delete<P>(
    "/api/projects/:projectId/pending-changes",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Discard every staged change (pending-service nodes are removed, reparented nodes move back)",
        params: params("projectId"),
        response: { 204: NO_CONTENT, ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId } = req.params;
      await d.projects.findProjectByID(projectId);
      await d.hub.moves.flush(projectId);
      await d.pendingChanges.discardPendingChanges(projectId);
      await d.hub.broadcastCanvasState(projectId);
      d.hub.broadcast(projectId, "pending-changes:cleared", {});
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { projectId: string; changeId: string } }>(
    "/api/projects/:projectId/pending-changes/:changeId",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Undo one staged change (project.update, service.update, env_var.*)",
        params: params("projectId", "changeId"),
        response: { 204: NO_CONTENT, ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId, changeId } = req.params;
      await d.pendingChanges.removePendingChange(projectId, changeId);
      d.hub.broadcast(projectId, "pending-changes:removed", { ids: [changeId] });
      return reply.code(204).send();
    },
  );

  app.post<P>(
    "/api/projects/:projectId/deploy",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Apply the staged changes (Deploy)",
        description: "Applies the whole log in one transaction; a clash found while applying is 409 and leaves the log untouched.",
        params: params("projectId"),
        response: { 200: ref("ApplyResult"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId } = req.params;
      // Node moves this server still buffers are persisted first, so Apply sees where the user put them.
      await d.hub.moves.flush(projectId);
      // Apply's effects (events after commit, the reconciler's passes over exactly the services it
      // touched, the canvas) happen below this route, the same for every caller (issue 11).
      const result = await d.pendingChanges.applyPendingChanges(projectId);
      d.listCache.invalidate(projectId);
      return present.applyResult(result);
    },
  );
}
