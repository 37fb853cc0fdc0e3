/**
 * The tarball `up` uploads: the directory's files, minus what `.gitignore` (at every level) and
 * `.dockerignore` exclude, gzipped into a temporary file so the upload knows its size.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import { create } from "tar";

/** Never uploaded: version control internals and the CLI's own link. */
const ALWAYS_IGNORED = [".git/", ".hg/", ".svn/", ".deploykit.json"];
/** Docker sends these even when .dockerignore lists them. */
const ALWAYS_SENT = new Set(["Dockerfile", ".dockerignore"]);

function readIgnore(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

interface Rules {
  /** Directory the rules are relative to ("" for the root). */
  dir: string;
  ig: Ignore;
}

const posix = (p: string) => p.split(sep).join("/");

/** Git's precedence: a deeper .gitignore overrides a shallower one (`!keep.log` re-includes). */
function ignored(rules: Rules[], rel: string, isDir: boolean): boolean {
  let out = false;
  for (const r of rules) {
    const sub = r.dir === "" ? rel : rel.slice(r.dir.length + 1);
    const t = r.ig.test(isDir ? `${sub}/` : sub);
    if (t.ignored) out = true;
    else if (t.unignored) out = false;
  }
  return out;
}

/** Files to send, relative to `root`, in a stable order. */
export function listFiles(root: string): string[] {
  const top = ignore().add(ALWAYS_IGNORED);
  const dockerignore = readIgnore(join(root, ".dockerignore"));
  if (dockerignore) top.add(dockerignore);
  const out: string[] = [];
  const walk = (dirRel: string, inherited: Rules[]) => {
    const abs = join(root, dirRel);
    const rules = [...inherited];
    const gi = readIgnore(join(abs, ".gitignore"));
    if (gi) rules.push({ dir: dirRel, ig: ignore().add(gi) });
    const entries = readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const rel = dirRel === "" ? e.name : `${dirRel}/${e.name}`;
      const isDir = e.isDirectory();
      if (!(dirRel === "" && ALWAYS_SENT.has(e.name)) && ignored(rules, rel, isDir)) continue;
      if (isDir) walk(rel, rules);
      else if (e.isFile() || e.isSymbolicLink()) out.push(rel);
    }
  };
  walk("", [{ dir: "", ig: top }]);
  return out;
}

export interface Archive {
  path: string;
  size: number;
  files: number;
  remove(): void;
}

/** Writes the gzipped tarball of `root` to a temporary file. */
export async function makeArchive(root: string): Promise<Archive> {
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new Error(`Not a directory: ${root}`);
  const files = listFiles(root);
  const dir = mkdtempSync(join(tmpdir(), "deploykit-up-"));
  const path = join(dir, "source.tar.gz");
  // portable: no uid/gid/user names or access times; a rebuild of the same tree is the same upload.
  await create({ gzip: true, cwd: root, portable: true, noDirRecurse: true, file: path }, files.map(posix));
  return { path, size: statSync(path).size, files: files.length, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
