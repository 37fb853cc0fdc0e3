import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, pageBody, pageOf, serviceInProject } from "./context.ts";
import * as present from "./present.ts";
import { body, ENV_MAP, ERRORS, ID, PAGE_QUERY, pageOfRef, params, query, ref, SERVICE_SETTINGS } from "./schemas.ts";

const tags = ["deployments"];
/** The service settings a hand-made deployment may set (the service's schemas, not a copy of them). */
const {
  image,
  ports,
  volumes,
  resources,
  replicas,
  stop_grace_seconds,
  start_command,
  entrypoint,
  healthcheck_path,
  healthcheck_timeout_seconds,
} = SERVICE_SETTINGS;
const DEPLOYMENT_SETTINGS = {
  image,
  ports,
  volumes,
  resources,
  replicas,
  stop_grace_seconds,
  start_command,
  entrypoint,
  healthcheck_path,
  healthcheck_timeout_seconds,
};
type PS = { Params: { projectId: string; serviceId: string } };

type DeploymentRouteDeps = Pick<Deps, "services" | "deployments" | "envVars" | "listCache" | "authenticated">;

export function registerDeploymentRoutes(app: FastifyInstance, d: DeploymentRouteDeps): void {
  app.post<PS & { Body: deploykit.DeploymentCreate }>(
    "/api/projects/:projectId/services/:serviceId/deployments",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Deploy now with explicit settings (env = the service's resolved env overlaid by env_vars)",
        params: params("projectId", "serviceId"),
        body: body({ ...DEPLOYMENT_SETTINGS, env_vars: ENV_MAP }),
        response: { 201: ref("Deployment"), ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId, serviceId } = req.params;
      const svc = await serviceInProject(d, projectId, serviceId);
      const input: deploykit.DeploymentCreate = { ...req.body };
      deploykit.validateDeploymentCreate(input);
      const resolved = await d.envVars.resolveForService(serviceId);
      input.env_vars = { ...resolved.env, ...(req.body.env_vars ?? {}) };
      // A key the request sets itself is its own value, not the sealed variable's.
      const sealed = (resolved.sealed ?? []).filter((k) => req.body.env_vars?.[k] === undefined);
      if (sealed.length > 0) input.sealed_keys = sealed;
      // Omitted: the service's own command (a preset's enforced password must not be dropped).
      input.start_command = deploykit.resolveStartCommand(
        req.body.start_command === undefined ? svc.start_command : req.body.start_command,
        input.env_vars,
      );
      input.entrypoint = deploykit.resolveStartCommand(
        req.body.entrypoint === undefined ? svc.entrypoint : req.body.entrypoint,
        input.env_vars,
      );
      // The service's pre-deploy command runs before this rollout too.
      input.pre_deploy_command = deploykit.resolveStartCommand(svc.pre_deploy_command, input.env_vars);
      // deployment.created is published after commit; the reconciler and the canvas react to it.
      const dep = await d.deployments.createDeployment(serviceId, input);
      d.listCache.invalidate(projectId);
      return reply.code(201).send(present.deployment(dep));
    },
  );

  app.get<PS & { Querystring: { offset?: string; limit?: string } }>(
    "/api/projects/:projectId/services/:serviceId/deployments",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "List a service's deployments, newest first",
        params: params("projectId", "serviceId"),
        querystring: query(PAGE_QUERY),
        response: { 200: pageOfRef("Deployment"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId, serviceId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const page = pageOf(req.query);
      return pageBody(await d.deployments.findDeployments({ service_id: serviceId, ...page }), page, present.deployment);
    },
  );

  app.get<{ Params: { projectId: string; serviceId: string; deploymentId: string } }>(
    "/api/projects/:projectId/services/:serviceId/deployments/:deploymentId",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Get a deployment",
        params: params("projectId", "serviceId", "deploymentId"),
        response: { 200: ref("Deployment"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId, serviceId, deploymentId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const dep = await d.deployments.findDeploymentByID(deploymentId);
      if (dep.service_id !== serviceId) throw deploykit.errorf(deploykit.ENOTFOUND, "Deployment not found.");
      return present.deployment(dep);
    },
  );

  app.post<PS & { Body: { deployment_id?: string } }>(
    "/api/projects/:projectId/services/:serviceId/rollback",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Serve an earlier deployment again (a new deployment with its snapshot; zero-downtime switch)",
        params: params("projectId", "serviceId"),
        body: body({ deployment_id: ID }),
        response: { 200: ref("Service"), ...ERRORS },
      },
    },
    async (req) => {
      const { projectId, serviceId } = req.params;
      const deploymentID = req.body.deployment_id;
      if (!deploymentID) throw deploykit.fieldError({ deployment_id: ["Deployment id is required."] });
      await serviceInProject(d, projectId, serviceId);
      await d.deployments.rollback(serviceId, deploymentID);
      d.listCache.invalidate(projectId);
      return present.service(await d.services.findServiceByID(serviceId));
    },
  );
}
