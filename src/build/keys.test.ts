import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cloneEnv, generateDeployKey } from "./keys.ts";

const dir = mkdtempSync(join(tmpdir(), "dk-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("clone credentials", () => {
  it("puts a token in a header through GIT_CONFIG_* for https only", async () => {
    const env = await cloneEnv("https://git.example.com/a.git", { deploy_key: null, git_token: "t0k" }, dir);
    expect(env).toEqual({
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "http.extraHeader",
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from("x-access-token:t0k").toString("base64")}`,
    });
    expect(await cloneEnv("git@host:a.git", { deploy_key: null, git_token: "t0k" }, dir)).toEqual({});
  });

  it("generates an ed25519 deploy key and uses it, 0600, for ssh URLs", async () => {
    const key = await generateDeployKey("deploykit-test");
    expect(key.public_key).toMatch(/^ssh-ed25519 \S+ deploykit-test$/);
    expect(key.private_key).toContain("OPENSSH PRIVATE KEY");
    const env = await cloneEnv("ssh://git@host/a.git", { deploy_key: key.private_key, git_token: null }, dir);
    expect(env.GIT_SSH_COMMAND).toContain(`-i '${join(dir, "deploy_key")}'`);
    expect(statSync(join(dir, "deploy_key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "deploy_key"), "utf8")).toBe(key.private_key);
  });
});
