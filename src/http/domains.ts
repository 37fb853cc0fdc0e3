import type { FastifyInstance, FastifyRequest } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, principalOf, serviceInProject } from "./context.ts";
import * as present from "./present.ts";
import { body, ERRORS, listOfRef, NO_CONTENT, params, ref, str } from "./schemas.ts";

const tags = ["domains"];
type P = { projectId: string; serviceId: string };

function domainsOf(d: Pick<Deps, "domains">): deploykit.DomainService {
  if (!d.domains) throw deploykit.errorf(deploykit.EUNAVAILABLE, "Domains are not available.");
  return d.domains;
}

type DomainRouteDeps = Pick<Deps, "services" | "domains" | "pendingChanges" | "proxy" | "hub" | "authenticated">;

export function registerDomainRoutes(app: FastifyInstance, d: DomainRouteDeps): void {
  const base = "/api/projects/:projectId/services/:serviceId/domains";
  const stage = async (req: FastifyRequest<{ Params: P }>, change: deploykit.PendingChangeAppend) => {
    const projectID = req.params.projectId;
    const pc = await d.pendingChanges.appendPendingChange(projectID, principalOf(req).user.id, change);
    d.hub.broadcast(projectID, "pending-change:added", present.pendingChange(pc));
    return present.pendingChange(pc);
  };

  app.get<{ Params: P }>(
    base,
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "The service's domains: applied ones (with status and certificate), then staged creates (`staged: true`)",
        params: params("projectId", "serviceId"),
        response: { 200: listOfRef("ServiceDomain"), ...ERRORS },
      },
    },
    async (req) => {
      const list = await domainsOf(d).findServiceDomains(req.params.projectId, req.params.serviceId);
      return { data: list.map(present.serviceDomain) };
    },
  );

  app.post<{ Params: P; Body: deploykit.DomainCreate }>(
    base,
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Stage a domain (domain.create)",
        description:
          "`{hostname, target_port?}` (target_port defaults to the service's first container port) or `{generate: true}` " +
          "for `<service>-<project-slug>.<base_domain>`. A hostname used anywhere on the instance (applied or staged) is 409 naming its project.",
        params: params("projectId", "serviceId"),
        body: body({ hostname: str(300), target_port: { type: "integer" }, generate: { type: "boolean" } }),
        response: { 201: ref("PendingChange"), ...ERRORS },
      },
    },
    async (req, reply) => {
      const svc = await serviceInProject(d, req.params.projectId, req.params.serviceId);
      const payload: Record<string, unknown> = {};
      if (req.body.hostname !== undefined) payload.hostname = req.body.hostname;
      if (req.body.target_port !== undefined) payload.target_port = req.body.target_port;
      if (req.body.generate !== undefined) payload.generate = req.body.generate;
      const out = await stage(req, { op: deploykit.OP_DOMAIN_CREATE, target_type: deploykit.TARGET_SERVICE, target_id: svc.id, payload });
      return reply.code(201).send(out);
    },
  );

  app.delete<{ Params: P & { domainId: string } }>(
    `${base}/:domainId`,
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary:
          "Stage a domain's removal (domain.delete); for a staged create (its id is the pending change's) the entry is removed (204)",
        params: params("projectId", "serviceId", "domainId"),
        response: { 201: ref("PendingChange"), 204: NO_CONTENT, ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId, serviceId, domainId } = req.params;
      const svc = await serviceInProject(d, projectId, serviceId);
      const domains = domainsOf(d);
      const found = await domains.findDomainByID(svc.id, domainId).catch((err) => {
        if (deploykit.errorCode(err) !== deploykit.ENOTFOUND) throw err;
        return null;
      });
      if (!found) {
        // A staged create: cancelling it removes the entry.
        const pc = await d.pendingChanges.findPendingChangeByID(projectId, domainId).catch(() => null);
        if (!pc || pc.op !== deploykit.OP_DOMAIN_CREATE || pc.target_id !== svc.id)
          throw deploykit.errorf(deploykit.ENOTFOUND, "Domain not found.");
        await d.pendingChanges.removePendingChange(projectId, pc.id);
        d.hub.broadcast(projectId, "pending-changes:removed", { ids: [pc.id] });
        return reply.code(204).send();
      }
      const out = await stage(req, { op: deploykit.OP_DOMAIN_DELETE, target_type: deploykit.TARGET_DOMAIN, target_id: found.id });
      return reply.code(201).send(out);
    },
  );

  app.get(
    "/api/system/proxy/root.crt",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "The proxy's internal CA root certificate (PEM), to trust `.localhost`, IP and internal names",
        description: "404 when the proxy is off (-proxy=false), 503 while it does not answer.",
      },
    },
    async (_req, reply) => {
      if (!d.proxy) throw deploykit.errorf(deploykit.ENOTFOUND, "The proxy is off (-proxy=false).");
      const pem = await d.proxy.rootCertificate();
      return reply
        .header("content-type", "application/x-pem-file")
        .header("content-disposition", 'attachment; filename="deploykit-root.crt"')
        .send(pem);
    },
  );
}
