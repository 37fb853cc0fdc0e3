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
    default_memory_mb: { type: "integer", description: "Memory limit (MiB) for containers whose service sets none; 0 = no limit" },
    default_cpus: { type: "number", description: "CPU limit (cores) for containers whose service sets none; 0 = no limit" },
    default_pids_limit: { type: "integer", description: "Process limit of every container" },
    shell_members_allowed: { type: "boolean", description: "Whether members may open a shell in a container (admins always may)" },
    base_domain: { type: "string", description: "Generated domains are `<service>-<project-slug>.<base_domain>`; empty = none" },
    acme_email: { type: "string", description: "Contact address given to the ACME CA" },
    acme_directory: { type: "string", description: "RFC 8555 directory URL (default Let's Encrypt production)" },
    internal_hostnames: { type: "array", items: { type: "string" }, description: "Hostnames signed by the proxy's internal CA" },
    backup_enabled: { type: "boolean", description: "Scheduled state backups on (default) or off" },
    backup_interval_hours: { type: "integer", description: "Hours between scheduled backups (default 24)" },
    backup_retention: { type: "integer", description: "Scheduled backups kept (default 7)" },
    backup_dir: { type: "string", description: "Where they go: absolute or relative to the data directory; empty = <data-dir>/backups" },
    build_concurrency: { type: "integer", description: "Builds at once on this host (default 1; one per service always)" },
    build_cpus: {
      type: "number",
      description: "CPU limit of each build step (such builds use the classic builder, docs/builds.md); 0 = none",
    },
    build_memory_mb: {
      type: "integer",
      description: "Memory limit (MiB) of each build step (such builds use the classic builder, docs/builds.md); 0 = none",
    },
    build_timeout_minutes: { type: "integer", description: "A longer build is stopped and fails its deployment (default 30)" },
    images_kept: { type: "integer", description: "Built images kept per service for Rollback (default 5)" },
    build_cache_max_mb: { type: "integer", description: "Build cache pruned to this size after each build; 0 = never" },
    build_base_node: { type: "string", description: "Base image of generated Dockerfiles for Node apps" },
    build_base_python: { type: "string", description: "Base image of generated Dockerfiles for Python apps" },
    build_base_go: { type: "string", description: "Image Go apps compile in (they run in build_base_static)" },
    build_base_static: { type: "string", description: "Image static sites are served from (busybox httpd) and Go apps run in" },
  },
} as const;
const PORT = { type: "integer", minimum: 1, maximum: 65535 } as const;

export function registerSettingsRoutes(app: FastifyInstance, d: Pick<Deps, "settings" | "authenticated" | "adminOnly">): void {
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
        description:
          "`published_port_min`–`published_port_max`: the host ports services may publish (default 1024–65535). `default_memory_mb`, `default_cpus`, `default_pids_limit`: limits for containers whose service sets none (default 2048 MiB, no CPU limit, 4096 processes); they apply to containers created from then on. `build_base_node`, `build_base_python`, `build_base_go`, `build_base_static`: base images of the Dockerfiles generated for sources without one (docs/builds.md).",
        body: body({
          instance_name: str(1000),
          registry_allowlist: ALLOWLIST,
          published_port_min: PORT,
          published_port_max: PORT,
          default_memory_mb: { type: "integer" },
          default_cpus: { type: "number" },
          default_pids_limit: { type: "integer" },
          shell_members_allowed: { type: "boolean" },
          base_domain: str(1000),
          acme_email: str(1000),
          acme_directory: str(2000),
          internal_hostnames: { type: "array", maxItems: 1000, items: str(1000) },
          backup_enabled: { type: "boolean" },
          backup_interval_hours: { type: "integer" },
          backup_retention: { type: "integer" },
          backup_dir: str(4096),
          build_concurrency: { type: "integer" },
          build_cpus: { type: "number" },
          build_memory_mb: { type: "integer" },
          build_timeout_minutes: { type: "integer" },
          images_kept: { type: "integer" },
          build_cache_max_mb: { type: "integer" },
          build_base_node: str(1000),
          build_base_python: str(1000),
          build_base_go: str(1000),
          build_base_static: str(1000),
        }),
        response: { 200: SETTINGS, ...ERRORS },
      },
    },
    async (req) => d.settings.updateSettings(req.body),
  );
}
