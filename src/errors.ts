/**
 * Domain errors. Every failure that crosses a package boundary is a DeployKitError with a code;
 * only src/http/ knows how codes map to HTTP statuses.
 */

export const ECONFLICT = "conflict";
export const EINTERNAL = "internal";
export const EINVALID = "invalid";
export const ENOTFOUND = "not_found";
export const EUNAUTHORIZED = "unauthorized";
export const EFORBIDDEN = "forbidden";
/** Too many attempts; `retryAfterSeconds` says when to try again. */
export const ERATELIMIT = "rate_limited";
/** A dependency (Docker, the disk) cannot serve the request right now. */
export const EUNAVAILABLE = "unavailable";

export type ErrorCode =
  | typeof ECONFLICT
  | typeof EINTERNAL
  | typeof EINVALID
  | typeof ENOTFOUND
  | typeof EUNAUTHORIZED
  | typeof EFORBIDDEN
  | typeof ERATELIMIT
  | typeof EUNAVAILABLE;

/** Per-field messages, as sent in a 422 body: `{ field: ["msg", ...] }`. */
export type FieldErrors = Record<string, string[]>;

export class DeployKitError extends Error {
  readonly code: ErrorCode;
  /** Set on validation errors that name fields (rendered as 422 with `errors`). */
  readonly fields?: FieldErrors;
  /** Set on ERATELIMIT errors. */
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, opts: { fields?: FieldErrors; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "DeployKitError";
    this.code = code;
    if (opts.fields) this.fields = opts.fields;
    if (opts.retryAfterSeconds !== undefined) this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** Shorthand constructor: `errorf(ENOTFOUND, "Project not found.")`. */
export function errorf(code: ErrorCode, message: string): DeployKitError {
  return new DeployKitError(code, message);
}

/** A validation error carrying per-field messages; its message is "Validation failed.". */
export function fieldError(fields: FieldErrors): DeployKitError {
  return new DeployKitError(EINVALID, "Validation failed.", { fields });
}

export function isDeployKitError(err: unknown): err is DeployKitError {
  return err instanceof DeployKitError;
}

/** The code of a domain error, or EINTERNAL for anything else (including non-errors). */
export function errorCode(err: unknown): ErrorCode {
  return isDeployKitError(err) ? err.code : EINTERNAL;
}

/** The message of a domain error, or "Internal error." for anything else, so internals never leak. */
export function errorMessage(err: unknown): string {
  return isDeployKitError(err) ? err.message : "Internal error.";
}

/**
 * Collects field errors while validating an input; `throwIfAny` raises one fieldError with all of
 * them, so a client sees every problem at once.
 */
export class FieldErrorCollector {
  readonly fields: FieldErrors = {};

  add(field: string, message: string): void {
    const list = this.fields[field];
    if (list) list.push(message);
    else this.fields[field] = [message];
  }

  get any(): boolean {
    return Object.keys(this.fields).length > 0;
  }

  throwIfAny(): void {
    if (this.any) throw fieldError(this.fields);
  }
}
