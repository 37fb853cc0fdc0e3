import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type * as deploykit from "../index.ts";

const run = promisify(execFile);

/** A new ed25519 deploy key (OpenSSH format) made by ssh-keygen with an argument array; nothing stays on disk. */
export async function generateDeployKey(comment: string): Promise<{ private_key: string; public_key: string }> {
  const dir = await mkdtemp(join(tmpdir(), "dk-key-"));
  try {
    const file = join(dir, "id_ed25519");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { timeout: 30_000 });
    return { private_key: await readFile(file, "utf8"), public_key: (await readFile(`${file}.pub`, "utf8")).trim() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The environment a clone authenticates with. A token goes into an `Authorization` header through
 * GIT_CONFIG_* variables (never argv, which other users can read in ps); a deploy key is written
 * 0600 into the build's own directory and named in GIT_SSH_COMMAND (only paths DeployKit chose).
 */
export async function cloneEnv(url: string, creds: deploykit.GitCredentials, dir: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  if (creds.git_token && /^https?:\/\//i.test(url)) {
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = "http.extraHeader";
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${Buffer.from(`x-access-token:${creds.git_token}`).toString("base64")}`;
  }
  if (creds.deploy_key && !/^https?:\/\//i.test(url)) {
    const key = join(dir, "deploy_key");
    await writeFile(key, creds.deploy_key.endsWith("\n") ? creds.deploy_key : `${creds.deploy_key}\n`, { mode: 0o600 });
    env.GIT_SSH_COMMAND = `ssh -F /dev/null -i '${key}' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile='${join(dir, "known_hosts")}'`;
  }
  return env;
}
