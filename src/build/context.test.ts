import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveContext, unsafeEntry } from "./context.ts";

const dir = mkdtempSync(join(tmpdir(), "dk-ctx-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("unsafeEntry", () => {
  it.each([
    ["/etc/passwd", "File", undefined, "absolute"],
    ["a/../../x", "File", undefined, "'..'"],
    ["dev", "CharacterDevice", undefined, "device"],
    ["l", "SymbolicLink", "/etc/passwd", "absolute"],
    ["a/l", "SymbolicLink", "../../x", "outside"],
  ])("refuses %s (%s)", (path, type, link, msg) => {
    expect(unsafeEntry(path, type, link)).toContain(msg);
  });
  it.each([
    ["a/b.txt", "File", undefined],
    ["a/l", "SymbolicLink", "../b.txt"],
    ["a/", "Directory", undefined],
  ])("accepts %s", (path, type, link) => {
    expect(unsafeEntry(path, type, link)).toBeNull();
  });
});

describe("resolveContext", () => {
  const repo = join(dir, "repo");
  mkdirSync(join(repo, "app"), { recursive: true });
  writeFileSync(join(repo, "app", "Dockerfile"), "FROM scratch\n");
  symlinkSync("/etc", join(repo, "escape"));
  symlinkSync("/etc/hostname", join(repo, "app", "Evil"));

  it("finds the Dockerfile in root_dir", async () => {
    const r = await resolveContext(repo, "app", "Dockerfile");
    expect(r).toMatchObject({ ok: true, dockerfile: "Dockerfile" });
  });
  it("says where it looked when there is no Dockerfile", async () => {
    expect(await resolveContext(repo, "", "Dockerfile")).toEqual({ ok: false, message: "no Dockerfile at Dockerfile" });
  });
  it("refuses a root_dir or Dockerfile that a symlink leads out of the checkout", async () => {
    expect(await resolveContext(repo, "escape", "Dockerfile")).toMatchObject({ ok: false, message: expect.stringContaining("outside") });
    expect(await resolveContext(repo, "app", "Evil")).toMatchObject({ ok: false, message: expect.stringContaining("outside") });
  });
});
