/**
 * Device login for `deploykit login`: the CLI asks for a code pair, the signed-in user approves the
 * short code on the web app's /device page, and the CLI's poll receives a new API key of that user.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, principalOf } from "./context.ts";
import * as present from "./present.ts";
import { body, ERRORS, params, ref, str } from "./schemas.ts";

const tags = ["auth"];

const DEVICE_LOGIN = {
  type: "object",
  properties: {
    user_code: { type: "string" },
    description: { type: "string" },
    status: { type: "string", enum: [deploykit.DEVICE_PENDING, deploykit.DEVICE_APPROVED, deploykit.DEVICE_DENIED] },
    expires_at: { type: "string" },
    created_at: { type: "string" },
  },
} as const;

const present_ = (l: deploykit.DeviceLogin) => ({
  user_code: l.user_code,
  description: l.description,
  status: l.status,
  expires_at: l.expires_at,
  created_at: l.created_at,
});

/** The web app's approval page, on the origin the CLI reached. */
function verificationURI(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}/device`;
}

export function registerDeviceRoutes(app: FastifyInstance, d: Pick<Deps, "auth" | "users" | "authenticated" | "deviceLimiter">): void {
  app.post<{ Body: { description?: string } }>(
    "/api/auth/device",
    {
      schema: {
        tags,
        summary: "Start a device login (deploykit login): a code for the user to approve in the web app",
        description:
          "Anyone may start one; it is worth nothing until a signed-in user approves `user_code` at `verification_uri`. " +
          "Poll `POST /api/auth/device/token` with `device_code` every `interval` seconds. Limited to 10 per client address per minute.",
        security: [],
        body: body({ description: str(1000) }),
        response: {
          201: {
            type: "object",
            properties: {
              device_code: { type: "string" },
              user_code: { type: "string" },
              verification_uri: { type: "string" },
              verification_uri_complete: { type: "string" },
              expires_in: { type: "integer" },
              interval: { type: "integer" },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (req, reply) => {
      d.deviceLimiter.take(req.ip);
      const l = await d.auth.createDeviceLogin(req.body.description ?? "deploykit CLI");
      const uri = verificationURI(req);
      return reply.code(201).send({
        device_code: l.device_code,
        user_code: l.user_code,
        verification_uri: uri,
        verification_uri_complete: `${uri}?code=${encodeURIComponent(l.user_code)}`,
        expires_in: Math.round(deploykit.DEVICE_CODE_TTL_MS / 1000),
        interval: deploykit.DEVICE_POLL_INTERVAL_SECONDS,
      });
    },
  );

  app.post<{ Body: { device_code?: string } }>(
    "/api/auth/device/token",
    {
      schema: {
        tags,
        summary: "Poll a device login: pending, or approved with the new API key (returned once)",
        description: "404 when the code is unknown, expired or already used; 403 when the user denied it.",
        security: [],
        body: body({ device_code: str(200) }, ["device_code"]),
        response: {
          200: {
            type: "object",
            properties: { status: { type: "string" }, token: { type: "string" }, api_key_id: { type: "string" }, user: ref("User") },
          },
          ...ERRORS,
        },
      },
    },
    async (req) => {
      const r = await d.auth.pollDeviceLogin(req.body.device_code ?? "");
      if (r.status === deploykit.DEVICE_PENDING) return { status: r.status };
      const user = await d.users.findUserByID(r.key.user_id);
      return { status: r.status, token: r.key.token, api_key_id: r.key.id, user: present.user(user) };
    },
  );

  app.get<{ Params: { userCode: string } }>(
    "/api/auth/device/:userCode",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "A device login waiting for approval (the /device page shows it)",
        params: params("userCode"),
        response: { 200: DEVICE_LOGIN, ...ERRORS },
      },
    },
    async (req) => present_(await d.auth.findDeviceLogin(req.params.userCode)),
  );

  for (const [verb, approve] of [
    ["approve", true],
    ["deny", false],
  ] as const) {
    app.post<{ Params: { userCode: string } }>(
      `/api/auth/device/:userCode/${verb}`,
      {
        onRequest: d.authenticated,
        schema: {
          tags,
          summary: approve ? "Approve a device login: the CLI receives a new API key of yours" : "Deny a device login",
          description: "Only from a signed-in browser session: an API key cannot mint keys this way.",
          params: params("userCode"),
          response: { 200: DEVICE_LOGIN, ...ERRORS },
        },
      },
      async (req) => {
        const p = principalOf(req);
        if (!p.session_id) throw deploykit.errorf(deploykit.EFORBIDDEN, "Approve device logins from the web app, signed in.");
        return present_(await d.auth.decideDeviceLogin(req.params.userCode, p.user.id, approve));
      },
    );
  }
}
