import type { FastifyInstance } from "fastify";
import type { Deps } from "./context.ts";
import { DockerGate } from "./docker-gate.ts";
import { ERRORS } from "./schemas.ts";

const tags = ["system"];

export function registerSystemRoutes(app: FastifyInstance, d: Deps): void {
  // Both routes ask Docker; one bound for the two (D04).
  const gate = new DockerGate(d.limits.dockerWaiting);
  app.get(
    "/api/system/about",
    {
      onRequest: d.adminOnly,
      schema: { tags, summary: "Versions: DeployKit, Node, Docker, database", response: { 200: { type: "object" }, ...ERRORS } },
    },
    async () => gate.run(() => d.system.about()),
  );

  app.get(
    "/api/system/status",
    {
      onRequest: d.adminOnly,
      schema: {
        tags,
        summary: "Host, Docker and DeployKit load (plus the reconciler's view when available)",
        response: { 200: { type: "object" }, ...ERRORS },
      },
    },
    async (req) => {
      const status = await gate.run(() => d.system.status());
      if (!d.reconciler.status) return status;
      try {
        return { ...status, reconciler: d.reconciler.status() };
      } catch (err) {
        req.log.warn({ err }, "reconciler status unavailable");
        return status;
      }
    },
  );
}
