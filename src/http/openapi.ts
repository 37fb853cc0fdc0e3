import type { SwaggerOptions } from "@fastify/swagger";

/** OpenAPI document published at /api/openapi.json and rendered at /api/docs. */
export function openAPIOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "DeployKit API",
        version,
        description: [
          "Self-hosted platform-as-a-service. Authenticate with `Authorization: Bearer <token>`: an access token",
          "from /api/auth/login or an API key. Errors are `{error, message}` (422 adds per-field `errors`).",
          "Deploy-impacting edits are staged as pending changes and applied by `POST /api/projects/{projectId}/deploy`.",
          'The canvas WebSocket is `GET /api/projects/{projectId}/canvas/ws` (first frame `{type:"auth",payload:{token}}`).',
          "The shell WebSocket is `GET /api/projects/{projectId}/services/{serviceId}/shell?command=<JSON argv>&replica=<n>`",
          '(first frame `{type:"auth",payload:{token,cols,rows}}`, then binary terminal bytes; see docs/operations.md).',
        ].join(" "),
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: "auth" },
        { name: "projects" },
        { name: "services" },
        { name: "deployments" },
        { name: "env-vars" },
        { name: "pending-changes" },
        { name: "presets" },
        { name: "api-keys" },
        { name: "users", description: "Admin only." },
        { name: "system", description: "Admin only (except health)." },
        { name: "settings" },
        { name: "domains", description: "Public domains of services, served by the Caddy proxy (issue 12)." },
      ],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  };
}
