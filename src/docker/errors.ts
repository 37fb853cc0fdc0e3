import * as deploykit from "../index.ts";

/** The shape of errors docker-modem raises for an HTTP answer from the daemon. */
interface DockerHTTPError {
  statusCode: number;
  json?: { message?: string } | null;
  message: string;
}

export function isDockerHTTPError(err: unknown): err is DockerHTTPError {
  return typeof err === "object" && err !== null && typeof (err as { statusCode?: unknown }).statusCode === "number";
}

export function statusCode(err: unknown): number | undefined {
  return isDockerHTTPError(err) ? err.statusCode : undefined;
}

/** Docker's own message for an HTTP error ("No such container: x"), or the error's message. */
export function dockerMessage(err: unknown): string {
  if (isDockerHTTPError(err)) {
    const m = err.json?.message;
    if (typeof m === "string" && m.trim() !== "") return m.trim();
    // docker-modem formats "(HTTP code 404) no such container - <cause> "
    return err.message.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, "").trim() || err.message;
  }
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** True when the daemon answered nothing: connection refused, missing socket, timeout, reset. */
export function isUnreachable(err: unknown): boolean {
  return !isDockerHTTPError(err);
}

export function unavailable(err: unknown): deploykit.DeployKitError {
  return new deploykit.DeployKitError(deploykit.EUNAVAILABLE, `Docker is unreachable: ${reason(err)}`, { cause: err });
}

function reason(err: unknown): string {
  const e = err as { code?: string; address?: string; message?: string };
  if (e?.code === "ENOENT" || e?.code === "ECONNREFUSED") return `${e.code} ${e.address ?? ""}`.trim();
  if (e?.message === "socket hang up" || e?.code === "ECONNRESET") return "no answer in time (connection reset)";
  return dockerMessage(err);
}

/**
 * Turns any failure of a Docker call into a domain error. `what` prefixes Docker's message for
 * answered requests ("container start failed: …"); unreachable daemons always read the same way.
 */
export function wrap(err: unknown, what?: string): deploykit.DeployKitError {
  if (deploykit.isDeployKitError(err)) return err;
  if (isUnreachable(err) || runtimeUnavailable(err)) return unavailable(err);
  const msg = what ? `${what}: ${dockerMessage(err)}` : dockerMessage(err);
  switch (statusCode(err)) {
    case 400:
      return new deploykit.DeployKitError(deploykit.EINVALID, msg, { cause: err });
    case 403:
      return new deploykit.DeployKitError(deploykit.EFORBIDDEN, msg, { cause: err });
    case 404:
      return new deploykit.DeployKitError(deploykit.ENOTFOUND, msg, { cause: err });
    case 409:
      return new deploykit.DeployKitError(deploykit.ECONFLICT, msg, { cause: err });
    default:
      return new deploykit.DeployKitError(deploykit.EINTERNAL, msg, { cause: err });
  }
}

/**
 * A 5xx whose cause is dockerd's own runtime going away (containerd's gRPC "Unavailable" while the
 * engine shuts down or restarts) says nothing about the request: it is Docker being unreachable, so
 * the reconciler must not count it as a failed attempt of the deployment.
 */
function runtimeUnavailable(err: unknown): boolean {
  const code = statusCode(err);
  if (code === undefined || code < 500) return false;
  return /transport is closing|connection error: desc = "transport|: unavailable$|daemon is shutting down/i.test(dockerMessage(err));
}

/** Runs a Docker call, treating 404 as success (`undefined`). */
export async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw err;
  }
}

export function forbidden(kind: string, name: string): deploykit.DeployKitError {
  return deploykit.errorf(deploykit.EFORBIDDEN, `Refusing to touch ${kind} ${name}: it is not managed by this DeployKit instance.`);
}
