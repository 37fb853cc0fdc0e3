import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

const PREFIX = "/api/docs";
/** Headers of the docs app's answer worth passing on; length and framing are the outer server's. */
const PASSED_HEADERS = ["content-type", "cache-control", "etag", "last-modified", "location", "content-encoding"];

/**
 * The Swagger UI at /api/docs, loaded on its first visit rather than at start-up: an idle daemon
 * need not hold the UI's plugin, its static-file server and their dependencies. The first request
 * builds a private Fastify app with @fastify/swagger-ui over the finished OpenAPI document, and
 * every docs request is answered by it through `inject`.
 */
export function registerDocsRoutes(app: FastifyInstance, specification: () => Record<string, unknown>): void {
  let docs: Promise<FastifyInstance> | undefined;
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    docs ??= docsApp(specification).catch((err: unknown) => {
      docs = undefined;
      throw err;
    });
    const res = await (await docs).inject({ method: req.method as "GET" | "HEAD", url: req.url });
    for (const name of PASSED_HEADERS) {
      const v = res.headers[name];
      if (v !== undefined) reply.header(name, v);
    }
    return reply.code(res.statusCode).send(res.rawPayload);
  };
  const schema = { hide: true, security: [] };
  app.route({ method: ["GET", "HEAD"], url: PREFIX, schema, handler });
  app.route({ method: ["GET", "HEAD"], url: `${PREFIX}/*`, schema, handler });
}

async function docsApp(specification: () => Record<string, unknown>): Promise<FastifyInstance> {
  const [{ default: Fastify }, { default: swagger }, { default: swaggerUI }] = await Promise.all([
    import("fastify"),
    import("@fastify/swagger"),
    import("@fastify/swagger-ui"),
  ]);
  const sub = Fastify();
  await sub.register(swagger, { mode: "static", specification: { document: specification() as never } });
  await sub.register(swaggerUI, { routePrefix: PREFIX });
  await sub.ready();
  return sub;
}
