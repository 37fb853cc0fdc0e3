import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { credentialsPath, findLink, readCredentials, removeCredentials, writeCredentials, writeLink } from "./config.ts";

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "dk-cli-cfg-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("credentials", () => {
  it("live in $XDG_CONFIG_HOME/deploykit, mode 0600 in a 0700 directory, even over a looser file", () => {
    const env = { XDG_CONFIG_HOME: temp() };
    const path = credentialsPath(env);
    expect(path).toBe(join(env.XDG_CONFIG_HOME, "deploykit/credentials.json"));
    mkdirSync(join(env.XDG_CONFIG_HOME, "deploykit"), { recursive: true });
    writeFileSync(path, "{}", { mode: 0o644 });
    writeCredentials({ url: "https://x", token: "dk_1" }, env);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readCredentials(env)).toEqual({ url: "https://x", token: "dk_1" });
    expect(removeCredentials(env)).toBe(true);
    expect(readCredentials(env)).toBeNull();
    expect(removeCredentials(env)).toBe(false);
  });

  it("a relative XDG_CONFIG_HOME is ignored, as the spec says", () => {
    expect(credentialsPath({ XDG_CONFIG_HOME: "rel", HOME: "/home/u" })).toMatch(/\.config\/deploykit\/credentials\.json$/);
  });
});

describe("link", () => {
  it("is found from a subdirectory, like git finds its repository", () => {
    const root = temp();
    writeLink(root, { project_id: "p1", project_name: "Shop", service_id: "s1", service_name: "web" });
    mkdirSync(join(root, "a/b"), { recursive: true });
    expect(findLink(join(root, "a/b"))?.link).toMatchObject({ project_id: "p1", service_id: "s1" });
    expect(findLink(temp())).toBeNull();
  });
});
