import type { FastifyInstance, FastifyRequest } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, principalOf, serviceInProject } from "./context.ts";
import { registerReveal } from "./envvar-reveal.ts";
import * as present from "./present.ts";
import { body, ERRORS, listOfRef, params, ref, str } from "./schemas.ts";

const tags = ["env-vars"];
const KEY = str(1000);
const VALUE = str(deploykit.ENV_VALUE_MAX + 1);
const SEALED = { type: "boolean" } as const;

interface Owner {
  scope: deploykit.EnvScope;
  scopeID: string;
}
type Params = { projectId: string; serviceId?: string; groupId?: string; envVarId?: string };

/** What resolving a scope's owner reads. */
export type OwnerDeps = Pick<Deps, "projects" | "services" | "canvas">;

/** The scopes share one set of handlers; each resolves its owner (and checks it is in the project). */
export const SCOPES: { scope: deploykit.EnvScope; base: string; owner: (d: OwnerDeps, p: Params) => Promise<Owner> }[] = [
  {
    scope: deploykit.SCOPE_PROJECT,
    base: "/api/projects/:projectId/env-vars",
    owner: async (d, p) => {
      await d.projects.findProjectByID(p.projectId);
      return { scope: deploykit.SCOPE_PROJECT, scopeID: p.projectId };
    },
  },
  {
    scope: deploykit.SCOPE_SERVICE,
    base: "/api/projects/:projectId/services/:serviceId/env-vars",
    owner: async (d, p) => {
      await serviceInProject(d, p.projectId, p.serviceId as string);
      return { scope: deploykit.SCOPE_SERVICE, scopeID: p.serviceId as string };
    },
  },
  {
    // Shared variables reach a service only through ${{shared.KEY}}.
    scope: deploykit.SCOPE_SHARED,
    base: "/api/projects/:projectId/shared/env-vars",
    owner: async (d, p) => {
      await d.projects.findProjectByID(p.projectId);
      return { scope: deploykit.SCOPE_SHARED, scopeID: p.projectId };
    },
  },
  {
    scope: deploykit.SCOPE_GROUP,
    base: "/api/projects/:projectId/groups/:groupId/env-vars",
    owner: async (d, p) => {
      const node = await d.canvas.findNodeByID(p.projectId, p.groupId as string).catch((err) => {
        throw deploykit.errorCode(err) === deploykit.ENOTFOUND ? deploykit.errorf(deploykit.ENOTFOUND, "Group not found.") : err;
      });
      if (node.type !== deploykit.NODE_GROUP) throw deploykit.errorf(deploykit.ENOTFOUND, "Group not found.");
      return { scope: deploykit.SCOPE_GROUP, scopeID: node.id };
    },
  },
];

export async function ownedEnvVar(d: Pick<Deps, "envVars">, owner: Owner, id: string): Promise<deploykit.EnvVar> {
  const ev = await d.envVars.findEnvVarByID(id);
  if (ev.scope !== owner.scope || ev.scope_id !== owner.scopeID) throw deploykit.errorf(deploykit.ENOTFOUND, "Env var not found.");
  return ev;
}

export function registerEnvVarRoutes(
  app: FastifyInstance,
  d: OwnerDeps & Pick<Deps, "envVars" | "pendingChanges" | "hub" | "authenticated">,
): void {
  for (const s of SCOPES) {
    const ownerParams = s.scope === deploykit.SCOPE_SERVICE ? ["serviceId"] : s.scope === deploykit.SCOPE_GROUP ? ["groupId"] : [];
    const stage = async (req: FastifyRequest, change: deploykit.PendingChangeAppend) => {
      const projectID = (req.params as Params).projectId;
      const pc = await d.pendingChanges.appendPendingChange(projectID, principalOf(req).user.id, change);
      d.hub.broadcast(projectID, "pending-change:added", present.pendingChange(pc));
      return present.pendingChange(pc);
    };

    app.post<{ Params: Params; Body: { key?: string; value?: string; sealed?: boolean } }>(
      s.base,
      {
        onRequest: d.authenticated,
        schema: {
          tags,
          summary: `Stage a new ${s.scope} env var (env_var.create)`,
          params: params("projectId", ...ownerParams),
          body: body({ key: KEY, value: VALUE, sealed: SEALED }),
          response: { 201: ref("PendingChange"), ...ERRORS },
        },
      },
      async (req, reply) => {
        const owner = await s.owner(d, req.params);
        deploykit.validateEnvVarInput({ key: req.body.key, value: req.body.value });
        const out = await stage(req, {
          op: deploykit.OP_ENV_CREATE,
          target_type: deploykit.TARGET_ENV_VAR,
          target_id: owner.scopeID,
          payload: { scope: owner.scope, key: req.body.key, value: req.body.value, ...deploykit.sealedFlag(req.body) },
        });
        return reply.code(201).send(out);
      },
    );

    app.get<{ Params: Params }>(
      s.base,
      {
        onRequest: d.authenticated,
        schema: {
          tags,
          summary: `List applied ${s.scope} env vars, by key`,
          params: params("projectId", ...ownerParams),
          response: { 200: listOfRef("EnvVar"), ...ERRORS },
        },
      },
      async (req) => {
        const owner = await s.owner(d, req.params);
        const list = await d.envVars.findEnvVars({ scope: owner.scope, scope_id: owner.scopeID });
        return { data: list.map(present.envVar) };
      },
    );

    app.patch<{ Params: Params; Body: { value?: string; key?: string; sealed?: boolean } }>(
      `${s.base}/:envVarId`,
      {
        onRequest: d.authenticated,
        schema: {
          tags,
          summary: `Stage a new value and/or key (env_var.update); a new key rewrites the references to it`,
          params: params("projectId", ...ownerParams, "envVarId"),
          body: body({ value: VALUE, key: KEY, sealed: SEALED }),
          response: { 200: ref("PendingChange"), ...ERRORS },
        },
      },
      async (req) => {
        const owner = await s.owner(d, req.params);
        const v = new deploykit.FieldErrorCollector();
        if (req.body.key === undefined || req.body.value !== undefined) deploykit.validateEnvValue(req.body.value, v);
        if (req.body.key !== undefined) deploykit.validateEnvKey(req.body.key, v);
        v.throwIfAny();
        const ev = await ownedEnvVar(d, owner, req.params.envVarId as string);
        deploykit.validateSealed(req.body.sealed, ev);
        const payload: Record<string, unknown> = {
          value: req.body.value ?? ev.value,
          old_value: ev.value,
          scope: ev.scope,
          scope_id: ev.scope_id,
          key: ev.key,
        };
        if (req.body.key !== undefined && req.body.key !== ev.key) payload.new_key = req.body.key;
        return stage(req, { op: deploykit.OP_ENV_UPDATE, target_type: deploykit.TARGET_ENV_VAR, target_id: ev.id, payload });
      },
    );

    registerReveal(app, d, s.base, ownerParams, async (p) => ownedEnvVar(d, await s.owner(d, p), p.envVarId as string));

    app.delete<{ Params: Params }>(
      `${s.base}/:envVarId`,
      {
        onRequest: d.authenticated,
        schema: {
          tags,
          summary: `Stage a deletion (env_var.delete)`,
          params: params("projectId", ...ownerParams, "envVarId"),
          response: { 200: ref("PendingChange"), ...ERRORS },
        },
      },
      async (req) => {
        const owner = await s.owner(d, req.params);
        const ev = await ownedEnvVar(d, owner, req.params.envVarId as string);
        return stage(req, {
          op: deploykit.OP_ENV_DELETE,
          target_type: deploykit.TARGET_ENV_VAR,
          target_id: ev.id,
          payload: { scope: ev.scope, scope_id: ev.scope_id, key: ev.key, old_value: ev.value },
        });
      },
    );
  }

  app.post<{ Params: { projectId: string; tempId: string }; Body: { key?: string; value?: string; sealed?: boolean } }>(
    "/api/projects/:projectId/pending-services/:tempId/env-vars",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Stage an env var on a service that is itself still pending creation",
        params: params("projectId", "tempId"),
        body: body({ key: KEY, value: VALUE, sealed: SEALED }),
        response: { 201: ref("PendingChange"), ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId, tempId } = req.params;
      deploykit.validateEnvVarInput({ key: req.body.key, value: req.body.value });
      const key = req.body.key as string;
      const log = await d.pendingChanges.findPendingChanges(projectId);
      const create = log.find((c) => c.op === deploykit.OP_SERVICE_CREATE && c.target_temp_id === tempId);
      if (!create) throw deploykit.errorf(deploykit.ENOTFOUND, "Pending service not found.");
      const inline = Array.isArray(create.payload.env_vars) ? (create.payload.env_vars as { key?: unknown }[]) : [];
      const staged =
        inline.some((e) => e?.key === key) ||
        log.some((c) => c.op === deploykit.OP_ENV_CREATE && c.parent_temp_id === tempId && c.payload.key === key);
      if (staged) throw deploykit.errorf(deploykit.ECONFLICT, `Env var "${key}" already staged on this service.`);
      const pc = await d.pendingChanges.appendPendingChange(projectId, principalOf(req).user.id, {
        op: deploykit.OP_ENV_CREATE,
        target_type: deploykit.TARGET_ENV_VAR,
        parent_temp_id: tempId,
        payload: { scope: deploykit.SCOPE_SERVICE, key, value: req.body.value, ...deploykit.sealedFlag(req.body) },
      });
      d.hub.broadcast(projectId, "pending-change:added", present.pendingChange(pc));
      return reply.code(201).send(present.pendingChange(pc));
    },
  );
}
