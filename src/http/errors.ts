import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from "fastify";
import * as deploykit from "../index.ts";

/** The one table from domain error codes to HTTP statuses (422 is `invalid` with field errors). */
export const STATUS_BY_CODE: Record<deploykit.ErrorCode, number> = {
  [deploykit.EINVALID]: 400,
  [deploykit.EUNAUTHORIZED]: 401,
  [deploykit.EFORBIDDEN]: 403,
  [deploykit.ENOTFOUND]: 404,
  [deploykit.ECONFLICT]: 409,
  [deploykit.ERATELIMIT]: 429,
  [deploykit.EUNAVAILABLE]: 503,
  [deploykit.EINTERNAL]: 500,
};

export interface ErrorBody {
  error: string;
  message: string;
  errors?: deploykit.FieldErrors;
}

/** Status and body for any thrown value; unknown errors become 500 "Internal error.". */
export function errorResponse(err: unknown): { status: number; body: ErrorBody; retryAfter?: number } {
  if (deploykit.isDeployKitError(err)) {
    if (err.code === deploykit.EINVALID && err.fields) {
      return { status: 422, body: { error: err.code, message: err.message, errors: err.fields } };
    }
    const out: { status: number; body: ErrorBody; retryAfter?: number } = {
      status: STATUS_BY_CODE[err.code] ?? 500,
      body: { error: err.code, message: err.code === deploykit.EINTERNAL ? "Internal error." : err.message },
    };
    if (err.code === deploykit.ERATELIMIT) out.retryAfter = err.retryAfterSeconds ?? 60;
    else if (err.retryAfterSeconds !== undefined) out.retryAfter = err.retryAfterSeconds;
    return out;
  }
  const fe = err as Partial<FastifyError> | null;
  if (fe && typeof fe === "object") {
    if (fe.validation) return { status: 400, body: { error: deploykit.EINVALID, message: fe.message ?? "Invalid request." } };
    const status = fe.statusCode;
    if (typeof status === "number" && status >= 400 && status < 500) {
      if (status === 413) return { status, body: { error: deploykit.EINVALID, message: "Request body is too large." } };
      if (status === 415)
        return {
          status,
          body: { error: deploykit.EINVALID, message: "Unsupported content type: send JSON (Content-Type: application/json)." },
        };
      if (fe.code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH")
        return { status: 400, body: { error: deploykit.EINVALID, message: "Invalid Content-Length." } };
      if (fe.code?.startsWith("FST_ERR_CTP") || err instanceof SyntaxError)
        return { status: 400, body: { error: deploykit.EINVALID, message: "Invalid JSON body." } };
      return { status: 400, body: { error: deploykit.EINVALID, message: "Bad request." } };
    }
  }
  return { status: 500, body: { error: deploykit.EINTERNAL, message: "Internal error." } };
}

/** The server's error handler: one envelope for every failure; 5xx are logged with the route. */
export function handleError(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body, retryAfter } = errorResponse(err);
  if (status >= 500) {
    req.log.error({ err, method: req.method, url: req.routeOptions?.url ?? req.url.split("?")[0] }, "request failed");
  }
  if (retryAfter !== undefined) reply.header("Retry-After", String(retryAfter));
  // The rest of an oversized body is still arriving: the connection cannot carry another request, and
  // a client must not reuse it (it would be reset under its next request).
  if (status === 413) reply.header("Connection", "close");
  void reply.code(status).type("application/json; charset=utf-8").send(body);
}

function fieldName(path: string): string {
  return path
    .replace(/^\//, "")
    .split("/")
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join("");
}

/** Ajv errors → one readable sentence (400). */
export function formatSchemaError(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errors[0];
  let msg = "Invalid request.";
  if (e) {
    const inQuery = dataVar === "querystring";
    const params = e.params as Record<string, unknown>;
    const path = fieldName(e.instancePath);
    const what = inQuery ? `Query param "${path}"` : path === "" ? (dataVar === "body" ? "Request body" : dataVar) : `Field "${path}"`;
    switch (e.keyword) {
      case "additionalProperties": {
        const extra = String(params.additionalProperty);
        const full = path === "" ? extra : `${path}.${extra}`;
        msg = inQuery ? `Unknown query param "${extra}".` : `Unknown field "${full}".`;
        break;
      }
      case "required": {
        const missing = String(params.missingProperty);
        msg = `Field "${path === "" ? missing : `${path}.${missing}`}" is required.`;
        break;
      }
      case "pattern":
        msg = inQuery ? `${what} must be an integer.` : `${what} has an invalid format.`;
        break;
      case "type": {
        const t = String(params.type);
        const article = t === "integer" || t === "array" || t === "object" ? "an" : "a";
        msg = `${what} must be ${t.includes(",") ? `one of: ${t}` : `${article} ${t}`}.`;
        break;
      }
      case "maxLength":
        msg = `${what} is too long (max ${params.limit} characters).`;
        break;
      case "maxItems":
        msg = `${what} has too many items (max ${params.limit}).`;
        break;
      case "maxProperties":
        msg = `${what} has too many entries (max ${params.limit}).`;
        break;
      case "enum":
        msg = `${what} must be one of: ${(params.allowedValues as unknown[]).join(", ")}.`;
        break;
      default:
        msg = `${what} ${e.message ?? "is invalid"}.`;
    }
  }
  return new Error(msg);
}
