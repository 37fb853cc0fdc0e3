import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, principalOf } from "./context.ts";
import { ERRORS, obj, params } from "./schemas.ts";

type Params = { projectId: string; envVarId?: string };

/**
 * `POST <scope base>/:envVarId/reveal`: the one way to read a variable's value (lists mask every
 * value). Refused for a sealed variable; every reveal writes an audit line (who, when, which
 * variable — never the value).
 */
export function registerReveal(
  app: FastifyInstance,
  d: Pick<Deps, "authenticated">,
  base: string,
  ownerParams: string[],
  /** The variable named by the route's params, checked to belong to its owner (ENOTFOUND otherwise). */
  find: (p: Params) => Promise<deploykit.EnvVar>,
): void {
  app.post<{ Params: Params }>(
    `${base}/:envVarId/reveal`,
    {
      onRequest: d.authenticated,
      schema: {
        tags: ["env-vars"],
        summary: "Reveal one variable's value (audited; refused for sealed variables)",
        params: params("projectId", ...ownerParams, "envVarId"),
        response: { 200: obj({ id: { type: "string" }, key: { type: "string" }, value: { type: "string" } }), ...ERRORS },
      },
    },
    async (req) => {
      const ev = await find(req.params);
      if (ev.sealed) throw deploykit.errorf(deploykit.EFORBIDDEN, deploykit.REVEAL_SEALED_MESSAGE);
      const { user } = principalOf(req);
      req.log.info(
        {
          audit: "env_var.reveal",
          user_id: user.id,
          user_email: user.email,
          project_id: req.params.projectId,
          env_var_id: ev.id,
          env_key: ev.key,
          scope: ev.scope,
          scope_id: ev.scope_id,
          at: new Date().toISOString(),
        },
        "variable value revealed",
      );
      return { id: ev.id, key: ev.key, value: ev.value };
    },
  );
}
