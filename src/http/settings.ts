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
    published_port_min: { type: "integer" },
    published_port_max: { type: "integer" },
    base_domain: { type: "string", description: "Generated domains are `<service>-<project-slug>.<base_domain>`; empty = none" },
    acme_email: { type: "string", description: "Contact address given to the ACME CA" },
    acme_directory: { type: "string", description: "RFC 8555 directory URL (default Let's Encrypt production)" },
    internal_hostnames: { type: "array", items: { type: "string" }, description: "Hostnames signed by the proxy's internal CA" },
  },
} as const;
const PORT = { type: "integer", minimum: 1, maximum: 65535 } as const;

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
        description: "`published_port_min`–`published_port_max`: the host ports services may publish (default 1024–65535).",
        body: body({
          instance_name: str(1000),
          registry_allowlist: ALLOWLIST,
          published_port_min: PORT,
          published_port_max: PORT,
          base_domain: str(1000),
          acme_email: str(1000),
          acme_directory: str(2000),
          internal_hostnames: { type: "array", maxItems: 1000, items: str(1000) },
        }),
        response: { 200: SETTINGS, ...ERRORS },
      },
    },
    async (req) => d.settings.updateSettings(req.body),
  );
}
