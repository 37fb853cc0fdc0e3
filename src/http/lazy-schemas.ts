import { createRequire } from "node:module";
import type { FastifyServerOptions } from "fastify";

/**
 * Fastify compiles every route's validators (Ajv) and response serializers (fast-json-stringify)
 * when the server starts: ≈ 10 MB of generated code for 130 routes, most of which an idle daemon
 * never serves. These factories wrap Fastify's own compilers so each schema compiles on its route's
 * first request instead; the compiled function is then kept. A schema error therefore surfaces on
 * that first request (routes.test.ts and server.test.ts call every route).
 */
type Controller = NonNullable<FastifyServerOptions["schemaController"]>;
type ValidatorFactory = NonNullable<NonNullable<Controller["compilersFactory"]>["buildValidator"]>;
type SerializerFactory = NonNullable<NonNullable<Controller["compilersFactory"]>["buildSerializer"]>;

// Fastify's own compilers, resolved from Fastify's location: the same versions it would load itself.
const fromFastify = createRequire(createRequire(import.meta.url).resolve("fastify"));

export function lazySchemaController(): Controller {
  const buildValidator = (fromFastify("@fastify/ajv-compiler") as () => ValidatorFactory)();
  const buildSerializer = (fromFastify("@fastify/fast-json-stringify-compiler") as () => SerializerFactory)();
  return {
    compilersFactory: {
      buildValidator: (external, options) => {
        const compile = buildValidator(external, options);
        return (def) => lazyValidator(() => compile(def) as Validate) as ReturnType<typeof compile>;
      },
      buildSerializer: (external, options) => {
        const compile = buildSerializer(external, options);
        return (def) => {
          let serialize: ((data: unknown) => string) | undefined;
          return (data) => {
            serialize ??= compile(def);
            return serialize(data);
          };
        };
      },
    },
  };
}

type Validate = ((data: unknown) => unknown) & { errors?: unknown };

/** Fastify reads a failed validation's details from the validator's `errors`, as Ajv leaves them. */
function lazyValidator(compile: () => Validate): Validate {
  let validate: Validate | undefined;
  const lazy = Object.assign(
    (data: unknown) => {
      validate ??= compile();
      const result = validate(data);
      lazy.errors = validate.errors;
      return result;
    },
    { errors: null as unknown },
  );
  return lazy;
}
