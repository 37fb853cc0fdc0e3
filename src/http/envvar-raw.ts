import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, principalOf } from "./context.ts";
import { type OwnerDeps, SCOPES } from "./envvar.ts";
import * as present from "./present.ts";
import { body, ERRORS, listOfRef, params, str } from "./schemas.ts";

const tags = ["env-vars"];
/** A scope's worth of variables: generous, but bounded. */
const RAW_MAX = 1024 * 1024;

type Params = { projectId: string; serviceId?: string; groupId?: string };

const CATALOG_VARIABLE = {
  type: "object",
  properties: { key: { type: "string" }, value: { type: "string" }, masked: { type: "boolean" }, builtin: { type: "boolean" } },
} as const;

/**
 * The RAW editor (`.env` in and out, comments kept) for every scope, and the reference catalog
 * (autocomplete and "referenced by").
 */
export function registerEnvRawRoutes(
  app: FastifyInstance,
  d: OwnerDeps & Pick<Deps, "envVars" | "pendingChanges" | "hub" | "authenticated">,
): void {
  for (const s of SCOPES) {
    const ownerParams = s.scope === deploykit.SCOPE_SERVICE ? ["serviceId"] : s.scope === deploykit.SCOPE_GROUP ? ["groupId"] : [];

    app.get<{ Params: Params }>(
      `${s.base}/raw`,
      {
        onRequest: d.authenticated,
        schema: {
          tags,
          summary: `The applied ${s.scope} env vars as .env text, with the comments of the last RAW edit`,
          params: params("projectId", ...ownerParams),
          response: {
            200: { type: "object", properties: { text: { type: "string" }, sealed: { type: "array", items: { type: "string" } } } },
            ...ERRORS,
          },
        },
      },
      async (req) => {
        const owner = await s.owner(d, req.params);
        const vars = await d.envVars.findEnvVars({ scope: owner.scope, scope_id: owner.scopeID });
        const layout = await d.envVars.findRawLayout(owner.scope, owner.scopeID);
        // Sealed values are write-only: `KEY=` stands for "keep the current value" (see PUT).
        const shown = vars.map((v) => (v.sealed ? { ...v, value: "" } : v));
        const plain = vars.filter((v) => !v.sealed).map((v) => v.key);
        if (plain.length > 0)
          req.log.info(
            { audit: "env_var.raw_read", user: principalOf(req).user.id, scope: owner.scope, scope_id: owner.scopeID, keys: plain },
            "variable values read",
          );
        return { text: deploykit.formatDotenv(shown, layout), sealed: vars.filter((v) => v.sealed).map((v) => v.key) };
      },
    );

    app.put<{ Params: Params; Body: { text?: string } }>(
      `${s.base}/raw`,
      {
        onRequest: d.authenticated,
        schema: {
          tags,
          summary: `Stage the difference between .env text and the applied ${s.scope} env vars as one change`,
          params: params("projectId", ...ownerParams),
          body: body({ text: str(RAW_MAX) }),
          response: { 200: listOfRef("PendingChange"), ...ERRORS },
        },
      },
      async (req) => {
        const owner = await s.owner(d, req.params);
        if (typeof req.body.text !== "string") throw deploykit.fieldError({ text: ["Text is required."] });
        const parsed = deploykit.parseDotenv(req.body.text);
        const v = new deploykit.FieldErrorCollector();
        for (const e of parsed.errors) v.add("text", e);
        for (const e of parsed.entries) deploykit.validateEnvValue(e.value, v, `text`);
        v.throwIfAny();
        const current = await d.envVars.findEnvVars({ scope: owner.scope, scope_id: owner.scopeID });
        // A sealed variable left as `KEY=` (how GET shows it) keeps its value; any other value replaces it.
        const sealedNow = new Map(current.filter((ev) => ev.sealed).map((ev) => [ev.key, ev.value]));
        const entries = parsed.entries.map((e) =>
          e.value === "" && sealedNow.has(e.key) ? { ...e, value: sealedNow.get(e.key) as string } : e,
        );
        const diff = deploykit.diffDotenv(current, entries);
        const byKey = new Map(current.map((ev) => [ev.key, ev]));
        const raw_batch = randomUUID();
        const changes: deploykit.PendingChangeAppend[] = [
          ...diff.creates.map((c) => ({
            op: deploykit.OP_ENV_CREATE,
            target_type: deploykit.TARGET_ENV_VAR,
            target_id: owner.scopeID,
            payload: { scope: owner.scope, key: c.key, value: c.value, raw_batch },
          })),
          ...diff.updates.map((u) => {
            const ev = byKey.get(u.key) as deploykit.EnvVar;
            return {
              op: deploykit.OP_ENV_UPDATE,
              target_type: deploykit.TARGET_ENV_VAR,
              target_id: ev.id,
              payload: { value: u.value, raw_batch },
            };
          }),
          ...diff.deletes.map((key) => ({
            op: deploykit.OP_ENV_DELETE,
            target_type: deploykit.TARGET_ENV_VAR,
            target_id: (byKey.get(key) as deploykit.EnvVar).id,
            payload: { raw_batch },
          })),
        ] as deploykit.PendingChangeAppend[];
        const projectID = req.params.projectId;
        const staged = changes.length > 0 ? await d.pendingChanges.appendPendingChanges(projectID, principalOf(req).user.id, changes) : [];
        await d.envVars.saveRawLayout(owner.scope, owner.scopeID, req.body.text);
        for (const pc of staged) d.hub.broadcast(projectID, "pending-change:added", present.pendingChange(pc));
        return { data: staged.map(present.pendingChange) };
      },
    );
  }

  app.get<{ Params: { projectId: string } }>(
    "/api/projects/:projectId/env-references",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Variables that references can name (resolved, built-ins included) and every reference in the project",
        params: params("projectId"),
        response: {
          200: {
            type: "object",
            properties: {
              services: {
                type: "array",
                items: { type: "object", properties: { name: { type: "string" }, variables: { type: "array", items: CATALOG_VARIABLE } } },
              },
              shared: { type: "array", items: CATALOG_VARIABLE },
              uses: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    owner: { type: "string" },
                    key: { type: "string" },
                    target: { type: "string" },
                    target_key: { type: "string" },
                    reference: { type: "string" },
                  },
                },
              },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (req) => d.envVars.findReferenceCatalog(req.params.projectId),
  );
}
