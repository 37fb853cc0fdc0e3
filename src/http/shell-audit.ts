import type { FastifyInstance } from "fastify";
import { type Deps, pageBody, pageOf } from "./context.ts";
import { ERRORS, PAGE_QUERY, query } from "./schemas.ts";

/** The audit trail of browser shells: who opened which, where, when and for how long (admin). */
export function registerShellAuditRoute(app: FastifyInstance, d: Pick<Deps, "adminOnly" | "shellSessions">): void {
  app.get<{ Querystring: { offset?: string; limit?: string } }>(
    "/api/system/shell-sessions",
    {
      onRequest: d.adminOnly,
      schema: {
        tags: ["system"],
        summary: "Audit of browser shell sessions, newest first (admin)",
        description: "Who opened a shell in which container, with which command, when and for how long. The input is never recorded.",
        querystring: query(PAGE_QUERY),
        response: { 200: { type: "object" }, ...ERRORS },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      return pageBody(await d.shellSessions.findShellSessions(page), page, (s) => s);
    },
  );
}
