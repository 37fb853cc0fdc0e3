import type { FastifyInstance } from "fastify";
import type * as deploykit from "../index.ts";
import type { Deps } from "./context.ts";
import { body, ERRORS, str } from "./schemas.ts";

const tags = ["settings"];
const SETTINGS = { type: "object", properties: { instance_name: { type: "string" } } } as const;

export function registerSettingsRoutes(app: FastifyInstance, d: Deps): void {
  app.get(
    "/api/settings",
    { onRequest: d.authenticated, schema: { tags, summary: "Instance settings", response: { 200: SETTINGS, ...ERRORS } } },
    async () => d.settings.getSettings(),
  );

  app.patch<{ Body: deploykit.SettingsUpdate }>(
    "/api/settings",
    {
      onRequest: d.adminOnly,
      schema: {
        tags,
        summary: "Edit instance settings (admin)",
        body: body({ instance_name: str(1000) }),
        response: { 200: SETTINGS, ...ERRORS },
      },
    },
    async (req) => d.settings.updateSettings(req.body),
  );
}
