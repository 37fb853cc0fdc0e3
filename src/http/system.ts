import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import type { Deps } from "./context.ts";
import { DockerGate } from "./docker-gate.ts";
import { ERRORS } from "./schemas.ts";

const tags = ["system"];

type SystemRouteDeps = Pick<Deps, "system" | "reconciler" | "backups" | "limits" | "adminOnly">;

export function registerSystemRoutes(app: FastifyInstance, d: SystemRouteDeps): void {
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
      if (d.backups) status.backups = await d.backups.status();
      if (!d.reconciler.status) return status;
      try {
        return { ...status, reconciler: d.reconciler.status() };
      } catch (err) {
        req.log.warn({ err }, "reconciler status unavailable");
        return status;
      }
    },
  );

  app.post(
    "/api/system/backups",
    {
      onRequest: d.adminOnly,
      schema: {
        tags,
        summary: "Take a scheduled-style state backup now (admin)",
        description:
          "Writes a verified copy of the database (integrity_check, mode 0600) into the backup directory of the admin settings and applies the retention. 200 with the result, `ok: false` and `error` when it failed; 409 for an in-memory database.",
        response: { 200: { type: "object", additionalProperties: true }, ...ERRORS },
      },
    },
    async () => {
      if (!d.backups)
        throw deploykit.errorf(deploykit.ECONFLICT, "This instance keeps its state in memory: there is no database file to back up.");
      return d.backups.runNow();
    },
  );
}
