import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import * as deploykit from "../index.ts";
import { type BuildDeps, type Deps, serviceInProject } from "./context.ts";
import * as present from "./present.ts";
import { ERRORS, params, ref } from "./schemas.ts";
import { parsePushBody, verifyWebhookRequest } from "./webhook-verify.ts";

const tags = ["builds"];
type PS = { Params: { projectId: string; serviceId: string } };

/** Streams a deployment's build log: live while it builds, the stored log after. Same framing as the runtime logs. */
async function streamBuildLog(d: Pick<Deps, "limits">, b: BuildDeps, reply: FastifyReply, deploymentID: string): Promise<void> {
  const res = reply.raw;
  reply.hijack();
  res.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();
  let partial = "";
  const send = (text: string) => {
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines)
      if (line !== "" && !res.writableEnded)
        res.write(`data: ${JSON.stringify({ deployment_id: deploymentID, stream: "build", line })}\n\n`);
  };
  const end = () => {
    if (partial) send("\n");
    if (!res.writableEnded) {
      res.write("event: end\ndata: {}\n\n");
      res.end();
    }
  };
  const heartbeat = setInterval(() => !res.writableEnded && res.write(": ping\n\n"), d.limits.sseHeartbeatMs);
  const live = b.builder.follow(deploymentID, send, () => {
    clearInterval(heartbeat);
    end();
  });
  res.on("close", () => {
    clearInterval(heartbeat);
    live?.close();
  });
  if (live) return;
  clearInterval(heartbeat);
  send(await b.builds.findBuildLog(deploymentID));
  end();
}

/** What the build routes touch (the list cache a new deployment invalidates; the webhook check's logger). */
type BuildRouteDeps = Pick<Deps, "services" | "deployments" | "listCache" | "limits" | "logger" | "authenticated" | "adminOnly">;

export function registerBuildRoutes(app: FastifyInstance, d: BuildRouteDeps, b: BuildDeps): void {
  app.get<{ Params: { projectId: string; serviceId: string; deploymentId: string } }>(
    "/api/projects/:projectId/services/:serviceId/deployments/:deploymentId/build-logs",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "A deployment's build log (Server-Sent Events): live while it builds, then the stored log",
        description:
          'Frames: `data: {"deployment_id","stream":"build","line"}`; `event: end` when the build (or the stored log) ends; `: ping` every 15 s.',
        params: params("projectId", "serviceId", "deploymentId"),
        response: { 200: { description: "text/event-stream", type: "string" }, ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId, serviceId, deploymentId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const dep = await d.deployments.findDeploymentByID(deploymentId);
      if (dep.service_id !== serviceId) throw deploykit.errorf(deploykit.ENOTFOUND, "Deployment not found.");
      await streamBuildLog(d, b, reply, deploymentId);
      return reply;
    },
  );

  app.post<PS>(
    "/api/projects/:projectId/services/:serviceId/redeploy",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Redeploy: rebuild the branch head (git service), or re-pull the image and deploy when its digest changed",
        params: params("projectId", "serviceId"),
        response: { 201: ref("Deployment"), 200: { type: "object" }, ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId, serviceId } = req.params;
      const svc = await serviceInProject(d, projectId, serviceId);
      const source = deploykit.gitSourceOf(svc);
      let dep: deploykit.Deployment;
      if (source) dep = await b.builds.createBuildDeployment(serviceId, source);
      else {
        const image = svc.image || svc.active_deployment?.image;
        if (!image || deploykit.isBuiltImage(image))
          throw deploykit.errorf(deploykit.EINVALID, "This service has no repository or image to redeploy; upload its files instead.");
        const before = await b.imageID(image);
        const after = await b.pullImage(image);
        if (before !== null && after === before && svc.active_deployment_id)
          return reply.code(200).send({ redeployed: false, message: `${image} is unchanged (${after.slice(0, 19)}); nothing to deploy.` });
        dep = await b.builds.createImageDeployment(serviceId, image);
      }
      announce(d, projectId);
      return reply.code(201).send(present.deployment(dep));
    },
  );

  // The body is the archive itself: streamed to disk, never parsed.
  app.register(async (scoped) => {
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser("*", (_req, payload, done) => done(null, payload));
    scoped.post<PS>(
      "/api/projects/:projectId/services/:serviceId/uploads",
      {
        onRequest: d.authenticated,
        bodyLimit: b.uploadMaxBytes,
        schema: {
          tags,
          summary: "Deploy an uploaded directory: the body is a gzip tarball (application/gzip), built like a repository checkout",
          params: params("projectId", "serviceId"),
          response: { 201: ref("Deployment"), ...ERRORS },
        },
      },
      async (req, reply) => {
        const { projectId, serviceId } = req.params;
        const body = req.body as NodeJS.ReadableStream | undefined;
        if (!body || typeof body.pipe !== "function")
          throw deploykit.fieldError({ body: ["The body must be a gzip tarball (.tar.gz) of the directory to deploy."] });
        // Refused before the archive was read: read it to its end first, so the client's keep-alive
        // connection is not cut under the next request it sends.
        const svc = await serviceInProject(d, projectId, serviceId).catch(async (err) => {
          await drain(body);
          throw err;
        });
        const uploadID = randomUUID();
        await b.saveUpload(uploadID, body);
        const dep = await b.builds.createBuildDeployment(serviceId, {
          kind: deploykit.SOURCE_UPLOAD,
          upload_id: uploadID,
          root_dir: deploykit.normalizeSourcePath(svc.root_dir),
          dockerfile_path: deploykit.effectiveDockerfile(svc),
        });
        announce(d, projectId);
        return reply.code(201).send(present.deployment(dep));
      },
    );
  });

  app.get<PS>(
    "/api/projects/:projectId/services/:serviceId/webhook",
    {
      onRequest: d.adminOnly,
      schema: {
        tags,
        summary: "The push webhook of a git service: its URL and secret (admin)",
        params: params("projectId", "serviceId"),
        response: { 200: { type: "object", properties: { url: { type: "string" }, secret: { type: "string" } } }, ...ERRORS },
      },
    },
    async (req) => {
      const { projectId, serviceId } = req.params;
      const svc = await serviceInProject(d, projectId, serviceId);
      if (!svc.repo_url) throw deploykit.errorf(deploykit.EINVALID, "Only a service with a repository has a push webhook.");
      const secret = await b.builds.webhookSecret(serviceId);
      return { url: `${b.publicURL ?? originOf(req)}/api/webhooks/${serviceId}`, secret };
    },
  );

  app.post<PS>(
    "/api/projects/:projectId/services/:serviceId/deploy-key",
    {
      onRequest: d.adminOnly,
      schema: {
        tags,
        summary: "Generate the service's ssh deploy key (admin): the public half is returned once, to paste into the git host",
        params: params("projectId", "serviceId"),
        response: { 201: { type: "object", properties: { public_key: { type: "string" } } }, ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId, serviceId } = req.params;
      const svc = await serviceInProject(d, projectId, serviceId);
      const key = await b.generateDeployKey(`deploykit-${svc.name}`);
      await b.builds.setGitCredential(serviceId, "deploy_key", key.private_key);
      return reply.code(201).send({ public_key: key.public_key });
    },
  );

  app.put<PS & { Body: { token?: string | null } }>(
    "/api/projects/:projectId/services/:serviceId/git-token",
    {
      onRequest: d.adminOnly,
      schema: {
        tags,
        summary: "Store the access token https clones of a private repository use (admin); null removes it. Never returned.",
        params: params("projectId", "serviceId"),
        body: {
          type: "object",
          properties: { token: { type: ["string", "null"], maxLength: 4096 } },
          required: ["token"],
          additionalProperties: false,
        },
        response: { 204: { type: "null" }, ...ERRORS },
      },
    },
    async (req, reply) => {
      const { projectId, serviceId } = req.params;
      await serviceInProject(d, projectId, serviceId);
      const v = new deploykit.FieldErrorCollector();
      deploykit.validateGitToken(req.body.token, v);
      v.throwIfAny();
      await b.builds.setGitCredential(serviceId, "git_token", req.body.token ?? null);
      return reply.code(204).send();
    },
  );

  // Called by the git host, so public: the signature is the authentication. The raw body is what is signed.
  app.register(async (scoped) => {
    // The signature covers the exact bytes: no parser of the server (JSON included) may see them first.
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
    scoped.post<{ Params: { serviceId: string } }>(
      "/api/webhooks/:serviceId",
      {
        schema: {
          tags,
          summary: "Push webhook (GitHub X-Hub-Signature-256, GitLab X-Gitlab-Token, Gitea X-Gitea-Signature)",
          security: [],
          params: params("serviceId"),
          response: { 201: ref("Deployment"), 202: { type: "object" }, ...ERRORS },
        },
      },
      async (req, reply) => {
        const { serviceId } = req.params;
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === "string" ? req.body : "");
        const svc = await verifyWebhookRequest(d, b, serviceId, req.headers, body, req.ip);
        const result = await pushDeploy(d, b, svc, body);
        return reply.code(result.deployment ? 201 : 202).send(result.deployment ? present.deployment(result.deployment) : result);
      },
    );
  });
}

async function pushDeploy(
  d: Pick<Deps, "listCache">,
  b: BuildDeps,
  svc: deploykit.Service,
  body: Buffer,
): Promise<{ deployment?: deploykit.Deployment; deployed: boolean; message: string }> {
  const push = parsePushBody(body);
  const source = deploykit.gitSourceOf(svc);
  if (!source) return { deployed: false, message: "This service no longer builds from a repository; nothing deployed." };
  const branch = deploykit.branchOfRef(push.ref);
  if (branch !== source.branch) return { deployed: false, message: `Push to ${push.ref} ignored: this service deploys ${source.branch}.` };
  const dep = await b.builds.createBuildDeployment(svc.id, source);
  announce(d, svc.project_id);
  return { deployment: dep, deployed: true, message: `Deploying ${branch}.` };
}

/** The service list shows the new deployment at once; its `deployment.created` (published by the store after commit) starts the pass. */
function announce(d: Pick<Deps, "listCache">, projectID: string): void {
  d.listCache.invalidate(projectID);
}

function originOf(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? "localhost"}`;
}

/** Reads and discards what is left of a request body (at most 30 s). */
function drain(body: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const r = body as NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean };
    if (r.readableEnded || r.destroyed) return resolve();
    const timer = setTimeout(done, 30_000);
    body.once("end", done);
    body.once("close", done);
    body.once("error", done);
    body.resume();
  });
}
