import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { PassThrough, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as deploykit from "../index.ts";
import { uploadPath } from "./builder.ts";

/** An upload over the size limit: answered 413 (a Fastify-style status error). */
function tooLarge(maxBytes: number): Error {
  return Object.assign(new Error(`The upload is larger than ${Math.round(maxBytes / (1024 * 1024))} MB (-upload-max-mb).`), {
    statusCode: 413,
    code: "FST_ERR_CTP_BODY_TOO_LARGE",
  });
}

/**
 * Streams an upload to `<workDir>/uploads/<id>.tar.gz` (mode 0600), stopping at `maxBytes` and
 * refusing what is not gzip. Extraction happens in the build, with every entry checked.
 */
export async function saveUpload(workDir: string, uploadID: string, body: NodeJS.ReadableStream, maxBytes: number): Promise<void> {
  const file = uploadPath(workDir, uploadID);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let seen = 0;
  let head: Buffer | null = null;
  const guard = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) return cb(tooLarge(maxBytes));
      if (head === null) {
        head = chunk.subarray(0, 2);
        if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b)
          return cb(deploykit.errorf(deploykit.EINVALID, "The upload must be a gzip tarball (.tar.gz)."));
      }
      cb(null, chunk);
    },
  });
  // The request is piped rather than put in the pipeline: a refused upload must not destroy the
  // request (and with it the client's keep-alive connection); the rest of it is read and dropped.
  const source = new PassThrough();
  body.pipe(source);
  try {
    await pipeline(source, guard, createWriteStream(file, { mode: 0o600 }));
    if (seen === 0) throw deploykit.errorf(deploykit.EINVALID, "The upload is empty.");
  } catch (err) {
    body.unpipe(source);
    await Promise.all([rm(file, { force: true }), discard(body)]);
    throw err;
  }
}

/** Reads what is left of a stream and drops it (at most 30 s). */
function discard(body: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const r = body as NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean };
    if (r.readableEnded || r.destroyed) return resolve();
    const timer = setTimeout(done, 30_000);
    body.once("end", done);
    body.once("close", done);
    body.once("error", done);
    body.resume();
  });
}
