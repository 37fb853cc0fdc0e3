import type { FastifyInstance } from "fastify";
import type * as deploykit from "../index.ts";
import type { Deps } from "./context.ts";
import { body, ERRORS, str } from "./schemas.ts";

const tags = ["settings"];
const ALLOWLIST = { type: "array", maxItems: 1000, items: str(1000) } as const;
const SETTINGS = {
  type: "object",
  properties: {
    instance_name: { type: "string" },
    registry_allowlist: {
      ...ALLOWLIST,
      description: "Registries (host or host:port) images may name although they are loopback, link-local, private or this host's own",
    },
  },
} as const;

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
        body: body({ instance_name: str(1000), registry_allowlist: ALLOWLIST }),
        response: { 200: SETTINGS, ...ERRORS },
      },
    },
    async (req) => d.settings.updateSettings(req.body),
  );
}
