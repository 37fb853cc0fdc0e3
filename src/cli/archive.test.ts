import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { list } from "tar";
import { afterAll, describe, expect, it } from "vitest";
import { listFiles, makeArchive } from "./archive.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "dk-archive-"));
  dirs.push(dir);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

describe("the tarball of deploykit up", () => {
  it("respects .gitignore at every level and .dockerignore, and never sends .git or the link", () => {
    const dir = tree({
      Dockerfile: "FROM scratch\n",
      ".gitignore": "node_modules/\n*.log\n",
      ".dockerignore": "secrets/\nDockerfile\n",
      ".deploykit.json": "{}",
      ".git/HEAD": "ref: refs/heads/main\n",
      "src/app.js": "1",
      "src/debug.log": "x",
      "src/.gitignore": "generated/\n!keep.log\n",
      "src/keep.log": "kept by the nested negation",
      "src/generated/out.js": "x",
      "node_modules/dep/index.js": "x",
      "secrets/key": "x",
      "lib/generated/ok.js": "the nested rule is relative to src/",
    });
    expect(listFiles(dir)).toEqual([
      ".dockerignore",
      ".gitignore",
      "Dockerfile",
      "lib/generated/ok.js",
      "src/.gitignore",
      "src/app.js",
      "src/keep.log",
    ]);
  });

  it("writes a gzipped tar of exactly those files", async () => {
    const dir = tree({ Dockerfile: "FROM scratch\n", "a/b.txt": "b", ".gitignore": "*.tmp\n", "x.tmp": "x" });
    const a = await makeArchive(dir);
    try {
      const names: string[] = [];
      await list({ file: a.path, onReadEntry: (e) => names.push(e.path) });
      expect(names.sort()).toEqual([".gitignore", "Dockerfile", "a/b.txt"]);
      expect(a.files).toBe(3);
      expect(a.size).toBeGreaterThan(0);
    } finally {
      a.remove();
    }
  });
});
