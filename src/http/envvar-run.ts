import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, principalOf, serviceInProject } from "./context.ts";
import { ERRORS, obj, params } from "./schemas.ts";

/**
 * `GET …/services/:serviceId/run-env`: the environment `deploykit run` gives a local command — the
 * service's variables as its next deployment gets them (project < group < service, references
 * resolved). Sealed values are included for admins only (an admin's shell in the container reads
 * them anyway) and left out, by key, for members. Every read writes an audit line naming the keys,
 * never a value, and the answer is never cached.
 */
export function registerRunEnvRoute(app: FastifyInstance, d: Pick<Deps, "authenticated" | "services" | "envVars">): void {
  app.get<{ Params: { projectId: string; serviceId: string } }>(
    "/api/projects/:projectId/services/:serviceId/run-env",
    {
      onRequest: d.authenticated,
      schema: {
        tags: ["env-vars"],
        summary: "The resolved variables `deploykit run` injects (audited; sealed values for admins only)",
        params: params("projectId", "serviceId"),
        response: {
          200: obj({
            env: { type: "object", additionalProperties: { type: "string" } },
            sealed_omitted: { type: "array", items: { type: "string" } },
            problems: { type: "array", items: obj({ owner: { type: "string" }, key: { type: "string" }, message: { type: "string" } }) },
          }),
          ...ERRORS,
        },
      },
    },
    async (req, reply) => {
      const { projectId, serviceId } = req.params;
      const svc = await serviceInProject(d, projectId, serviceId);
      const resolved = await d.envVars.resolveForService(svc.id);
      const { user } = principalOf(req);
      const admin = deploykit.isAdmin(user);
      const sealed = new Set(resolved.sealed ?? []);
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(resolved.env)) if (admin || !sealed.has(k)) env[k] = v;
      const omitted = admin ? [] : [...sealed].sort();
      req.log.info(
        {
          audit: "env_var.run_env",
          user_id: user.id,
          user_email: user.email,
          project_id: projectId,
          service_id: svc.id,
          keys: Object.keys(env).sort(),
          sealed_included: admin ? [...sealed].sort() : [],
          at: new Date().toISOString(),
        },
        "run environment read",
      );
      reply.header("cache-control", "no-store");
      return {
        env,
        sealed_omitted: omitted,
        problems: (resolved.problems ?? []).map((p) => ({ owner: p.owner, key: p.key, message: p.message })),
      };
    },
  );
}
