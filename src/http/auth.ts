import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, principalOf } from "./context.ts";
import * as present from "./present.ts";
import { body, ERRORS, NO_CONTENT, ref, str } from "./schemas.ts";

const EMAIL = str(1000);
const PASSWORD = str(1000);
const tags = ["auth"];

type AuthRouteDeps = Pick<Deps, "auth" | "users" | "setup" | "authenticated" | "loginLimiter" | "registerLimiter" | "refreshLimiter">;

export function registerAuthRoutes(app: FastifyInstance, d: AuthRouteDeps): void {
  app.get(
    "/api/auth/register",
    {
      schema: {
        tags,
        summary: "Whether the first user may still register",
        security: [],
        response: { 200: { type: "object", properties: { can_register: { type: "boolean" } } } },
      },
    },
    async () => ({ can_register: await d.auth.canRegister() }),
  );

  app.post<{ Body: deploykit.UserCreate & { setup_token?: string } }>(
    "/api/auth/register",
    {
      schema: {
        tags,
        summary: "Register the first user (admin) and sign in",
        description:
          "Requires `setup_token`: the one-time token the daemon writes to `<data-dir>/setup-token` and logs at a fresh start (403 without it).",
        security: [],
        body: body({ email: EMAIL, name: str(1000), password: PASSWORD, role: str(100), setup_token: str(1000) }),
        response: { 201: { type: "object", properties: { user: ref("User"), tokens: ref("AuthTokens") } }, ...ERRORS },
      },
    },
    async (req, reply) => {
      d.registerLimiter.take(req.ip);
      const { email, name, password, setup_token } = req.body;
      const closed = () => deploykit.errorf(deploykit.ECONFLICT, "Registration is closed.");
      if (!(await d.auth.canRegister())) throw closed();
      if (typeof setup_token !== "string" || !d.setup.verify(setup_token)) {
        // Consumed by a concurrent winner meanwhile: report what happened, not a bad token.
        if (!(await d.auth.canRegister())) throw closed();
        throw deploykit.errorf(
          deploykit.EFORBIDDEN,
          "A valid setup token is required: see the file setup-token in the data directory, or the daemon's log.",
        );
      }
      const { user, tokens } = await d.auth.register({ email, name, password });
      d.setup.consume();
      return reply.code(201).send({ user: present.user(user), tokens: present.tokens(tokens) });
    },
  );

  app.post<{ Body: deploykit.LoginInput }>(
    "/api/auth/login",
    {
      schema: {
        tags,
        summary: "Sign in",
        description:
          "Limited to 5 failures per email and client address, 20 per client address and 50 per email in 15 minutes (429 with Retry-After).",
        security: [],
        body: body({ email: EMAIL, password: PASSWORD }),
        response: { 200: ref("AuthTokens"), ...ERRORS },
      },
    },
    async (req) => {
      const input = { email: req.body.email, password: req.body.password };
      deploykit.validateLogin(input);
      const tokens = await d.loginLimiter.guard(deploykit.normalizeEmail(input.email), req.ip, () => d.auth.login(input), isUnauthorized);
      return present.tokens(tokens);
    },
  );

  app.post<{ Body: { refresh_token?: string } }>(
    "/api/auth/refresh",
    {
      schema: {
        tags,
        summary: "Rotate the token pair",
        security: [],
        body: body({ refresh_token: str(1000) }),
        response: { 200: ref("AuthTokens"), ...ERRORS },
      },
    },
    async (req) => {
      d.refreshLimiter.take(req.ip);
      return present.tokens(await d.auth.refresh(req.body.refresh_token ?? ""));
    },
  );

  app.post(
    "/api/auth/logout",
    {
      onRequest: d.authenticated,
      schema: { tags, summary: "End the current session (no-op for API keys)", response: { 204: NO_CONTENT, ...ERRORS } },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (p.session_id) await d.auth.logout(p.session_id);
      return reply.code(204).send();
    },
  );

  app.post(
    "/api/auth/logout-all",
    {
      onRequest: d.authenticated,
      schema: { tags, summary: "End every session of the current user", response: { 204: NO_CONTENT, ...ERRORS } },
    },
    async (req, reply) => {
      await d.auth.logoutAll(principalOf(req).user.id);
      return reply.code(204).send();
    },
  );

  app.get(
    "/api/auth/me",
    { onRequest: d.authenticated, schema: { tags, summary: "The current user", response: { 200: ref("User"), ...ERRORS } } },
    async (req) => present.user(principalOf(req).user),
  );

  app.patch<{ Body: deploykit.ProfileUpdate }>(
    "/api/auth/profile",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Edit your own profile",
        description:
          "A new password or email needs `current_password` (limited like login). A new password ends every other session of the account.",
        body: body({ email: EMAIL, name: str(1000), new_password: PASSWORD, current_password: PASSWORD }),
        response: { 200: ref("User"), ...ERRORS },
      },
    },
    async (req) => {
      const { user, session_id } = principalOf(req);
      if (req.body.current_password === undefined) return present.user(await d.users.updateProfile(user.id, req.body, session_id));
      // `current_password` is a password guess like a login: same limits, same budget.
      const update = () => d.users.updateProfile(user.id, req.body, session_id);
      const updated = await d.loginLimiter.guard(user.email, req.ip, update, isWrongPassword);
      return present.user(updated);
    },
  );
}

const isUnauthorized = (err: unknown) => deploykit.errorCode(err) === deploykit.EUNAUTHORIZED;

const isWrongPassword = (err: unknown) =>
  err instanceof deploykit.DeployKitError && (err.fields?.current_password ?? []).includes("Current password is incorrect.");
