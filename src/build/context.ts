import { createReadStream } from "node:fs";
import { lstat, readFile, realpath } from "node:fs/promises";
import { isAbsolute, join, normalize, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import * as deploykit from "../index.ts";

/** True when `child` is `parent` or inside it. */
function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/**
 * The build context and Dockerfile of a checkout, both checked on the real files: a symlinked
 * `root_dir` or Dockerfile that leads out of the checkout is refused.
 */
export async function resolveContext(
  checkout: string,
  rootDir: string,
  dockerfilePath: string,
): Promise<{ ok: true; context: string; dockerfile: string } | { ok: false; message: string }> {
  const base = await realpath(checkout);
  const root = deploykit.normalizeSourcePath(rootDir);
  let context: string;
  try {
    context = await realpath(join(base, root));
  } catch {
    return { ok: false, message: `root_dir "${root}" does not exist in the repository` };
  }
  if (!inside(base, context)) return { ok: false, message: `root_dir "${root}" leads outside the repository` };
  if (!(await lstat(context)).isDirectory()) return { ok: false, message: `root_dir "${root}" is not a directory` };
  const df = deploykit.normalizeSourcePath(dockerfilePath) || deploykit.DEFAULT_DOCKERFILE;
  const shown = root ? `${root}/${df}` : df;
  let file: string;
  try {
    file = await realpath(join(context, df));
  } catch {
    return { ok: false, message: `no Dockerfile at ${shown}` };
  }
  if (!inside(context, file)) return { ok: false, message: `the Dockerfile at ${shown} leads outside the build context` };
  if (!(await lstat(file)).isFile()) return { ok: false, message: `no Dockerfile at ${shown}` };
  return { ok: true, context, dockerfile: relative(context, file).split(sep).join("/") };
}

/** A tar stream of the context, without `.git` and what `.dockerignore` excludes (the Dockerfile always goes). */
export async function contextTar(context: string, dockerfile: string): Promise<Readable> {
  // tar and ignore load with the first build: an instance that only runs images never needs them.
  const [{ default: ignore }, tar] = await Promise.all([import("ignore"), import("tar")]);
  const ig = ignore();
  try {
    ig.add(await readFile(join(context, ".dockerignore"), "utf8"));
  } catch {
    // No .dockerignore: everything goes.
  }
  const filter = (path: string) => {
    const p = normalize(path).split(sep).join("/").replace(/^\.\//, "");
    if (p === "." || p === "" || p === dockerfile || p === ".dockerignore") return true;
    if (p === ".git" || p.startsWith(".git/")) return false;
    return !ig.ignores(p);
  };
  return tar.c({ cwd: context, portable: true, follow: false, noDirRecurse: false, filter }, ["."]) as unknown as Readable;
}

/** Why an upload entry is refused, or null when it is safe to extract. */
export function unsafeEntry(path: string, type: string, linkpath: string | undefined): string | null {
  const p = path.replace(/\\/g, "/");
  if (p.startsWith("/") || /^[A-Za-z]:/.test(p)) return `absolute path ${path}`;
  if (p.split("/").includes("..")) return `path with '..': ${path}`;
  if (["CharacterDevice", "BlockDevice", "FIFO", "ContiguousFile"].includes(type)) return `device or special file ${path}`;
  if (type === "SymbolicLink" || type === "Link") {
    const target = (linkpath ?? "").replace(/\\/g, "/");
    if (target.startsWith("/")) return `link ${path} → absolute ${target}`;
    const base = type === "Link" ? "" : p.split("/").slice(0, -1).join("/");
    const root = "/__upload_root__";
    const resolved = normalize(join(root, base, target));
    if (!resolved.startsWith(`${root}/`) && resolved !== root) return `link ${path} leads outside the upload`;
  }
  return null;
}

/**
 * Extracts an uploaded gzip tarball into `dir`, refusing the whole upload when any entry is unsafe
 * (absolute, `..`, a link out of the tree, a device): a partial tree would build something else.
 */
export async function extractUpload(archive: string, dir: string): Promise<void> {
  const tar = await import("tar");
  const problems: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser({
      onReadEntry: (e) => {
        const why = unsafeEntry(e.path, e.type, e.linkpath);
        if (why) problems.push(why);
        e.resume();
      },
    });
    parser.on("end", () => resolve());
    parser.on("error", reject);
    createReadStream(archive).on("error", reject).pipe(parser);
  });
  if (problems.length > 0) throw new Error(`unsafe upload: ${problems.slice(0, 3).join("; ")}`);
  await tar.x({ file: archive, cwd: dir, strict: true, preservePaths: false, preserveOwner: false, noChmod: false, unlink: false });
}
