import type { FastifyInstance } from "fastify";
import type * as deploykit from "../index.ts";
import { type Deps, principalOf } from "./context.ts";
import * as present from "./present.ts";
import { body, ERRORS, listOfRef, NO_CONTENT, params, ref, str } from "./schemas.ts";

const tags = ["api-keys"];

export function registerAPIKeyRoutes(app: FastifyInstance, d: Pick<Deps, "auth" | "authenticated">): void {
  app.get(
    "/api/api-keys",
    {
      onRequest: d.authenticated,
      schema: { tags, summary: "Your API keys, newest first", response: { 200: listOfRef("APIKey"), ...ERRORS } },
    },
    async (req) => ({ data: (await d.auth.findAPIKeys(principalOf(req).user.id)).map(present.apiKey) }),
  );

  app.post<{ Body: deploykit.APIKeyCreate }>(
    "/api/api-keys",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Create an API key (the token is shown once)",
        description: "Created with an API key, the new key expires no later than that key and is revoked with it.",
        body: body({ description: str(1000), expires_at: { type: ["string", "null"], maxLength: 100 } }),
        response: { 201: ref("APIKey"), ...ERRORS },
      },
    },
    async (req, reply) => {
      const input: deploykit.APIKeyCreate = { description: req.body.description, expires_at: req.body.expires_at ?? null };
      const p = principalOf(req);
      const key = await d.auth.createAPIKey(p.user.id, input, p.api_key_id);
      return reply.code(201).send(present.apiKeyCreated(key));
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/api/api-keys/:id",
    {
      onRequest: d.authenticated,
      schema: { tags, summary: "Revoke one of your API keys", params: params("id"), response: { 204: NO_CONTENT, ...ERRORS } },
    },
    async (req, reply) => {
      await d.auth.deleteAPIKey(principalOf(req).user.id, req.params.id);
      return reply.code(204).send();
    },
  );
}
