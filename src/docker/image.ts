import type { Readable } from "node:stream";
import * as deploykit from "../index.ts";
import type { Conn } from "./conn.ts";
import { dockerMessage, ignoreNotFound, isUnreachable, statusCode, unavailable } from "./errors.ts";

/** A Docker image reference: no whitespace or control characters, no leading dash (never an option). */
const IMAGE_REF_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._/:@-]{0,511}$/;

export function validateImageRef(ref: string): void {
  if (typeof ref !== "string" || !IMAGE_REF_PATTERN.test(ref)) {
    throw deploykit.errorf(deploykit.EINVALID, `Invalid image reference "${String(ref)}".`);
  }
}

/**
 * Uses the local image when present (tags, :latest included, are never re-pulled); pulls otherwise.
 * Failures read `image pull failed: <Docker's message>`: EINVALID when the registry says the image
 * does not exist or the reference is bad, EUNAVAILABLE when the registry cannot be reached.
 */
export async function ensureImage(conn: Conn, ref: string): Promise<void> {
  validateImageRef(ref);
  try {
    if (await ignoreNotFound(conn.api.getImage(ref).inspect())) return;
  } catch (err) {
    if (isUnreachable(err)) throw unavailable(err);
    throw pullFailed(err);
  }
  let stream: Readable;
  try {
    // The slow client: its timeout is the longest silence allowed between progress messages.
    stream = (await conn.slow.pull(ref)) as Readable;
  } catch (err) {
    if (isUnreachable(err)) throw unavailable(err);
    throw pullFailed(err);
  }
  await new Promise<void>((resolve, reject) => {
    conn.slow.modem.followProgress(stream, (err: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
      if (err) return reject(isUnreachable(err) ? unavailable(err) : pullFailed(err));
      // A pull that fails half way still answers 200; the failure is the last message of the stream.
      const failed = events.find((e) => e.error || e.errorDetail?.message);
      if (failed) return reject(pullFailed(new Error(failed.errorDetail?.message || failed.error)));
      resolve();
    });
  });
  conn.logger.info({ image: ref }, "image pulled");
}

function pullFailed(err: unknown): deploykit.DeployKitError {
  const msg = dockerMessage(err);
  const code = statusCode(err);
  const invalid =
    code === 400 || code === 404 || /not found|manifest unknown|pull access denied|invalid reference|repository does not exist/i.test(msg);
  return new deploykit.DeployKitError(invalid ? deploykit.EINVALID : deploykit.EUNAVAILABLE, `image pull failed: ${msg}`, { cause: err });
}
