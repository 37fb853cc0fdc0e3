import type { FastifyInstance } from "fastify";
import type * as deploykit from "../index.ts";
import { type Deps, pageBody, pageOf, principalOf } from "./context.ts";
import * as present from "./present.ts";
import { body, ERRORS, NO_CONTENT, PAGE_QUERY, pageOfRef, params, query, ref, str } from "./schemas.ts";

const tags = ["users"];
const USER_FIELDS = { email: str(1000), name: str(1000), password: str(1000), role: str(100) };

export function registerUserRoutes(app: FastifyInstance, d: Pick<Deps, "users" | "adminOnly">): void {
  app.post<{ Body: deploykit.UserCreate }>(
    "/api/users",
    {
      onRequest: d.adminOnly,
      schema: { tags, summary: "Create a user", body: body(USER_FIELDS), response: { 201: ref("User"), ...ERRORS } },
    },
    async (req, reply) => reply.code(201).send(present.user(await d.users.createUser(req.body))),
  );

  app.get<{ Querystring: { email?: string; role?: string; offset?: string; limit?: string } }>(
    "/api/users",
    {
      onRequest: d.adminOnly,
      schema: {
        tags,
        summary: "List users, newest first",
        querystring: query({ email: str(1000), role: str(100), ...PAGE_QUERY }),
        response: { 200: pageOfRef("User"), ...ERRORS },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      const filter: deploykit.UserFilter = { ...page };
      if (req.query.email) filter.email = req.query.email;
      if (req.query.role) filter.role = req.query.role;
      return pageBody(await d.users.findUsers(filter), page, present.user);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/users/:id",
    { onRequest: d.adminOnly, schema: { tags, summary: "Get a user", params: params("id"), response: { 200: ref("User"), ...ERRORS } } },
    async (req) => present.user(await d.users.findUserByID(req.params.id)),
  );

  app.patch<{ Params: { id: string }; Body: deploykit.UserUpdate }>(
    "/api/users/:id",
    {
      onRequest: d.adminOnly,
      schema: { tags, summary: "Edit a user", params: params("id"), body: body(USER_FIELDS), response: { 200: ref("User"), ...ERRORS } },
    },
    async (req) => present.user(await d.users.updateUser(req.params.id, req.body)),
  );

  app.delete<{ Params: { id: string } }>(
    "/api/users/:id",
    {
      onRequest: d.adminOnly,
      schema: {
        tags,
        summary: "Delete a user (not yourself, not the last admin)",
        params: params("id"),
        response: { 204: NO_CONTENT, ...ERRORS },
      },
    },
    async (req, reply) => {
      await d.users.deleteUser(principalOf(req).user.id, req.params.id);
      return reply.code(204).send();
    },
  );
}
