import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../harness/daemon.ts";
import { Dockerd, HOST_SOCKET } from "../harness/dockerd.ts";
import { waitFor } from "../harness/wait.ts";

// Issue 20's install path, in clean Debian containers built locally (there is no registry here):
// `npm pack`, the tarball installed globally, `install-service --dry-run` printing a valid unit,
// deploykitd from the installed package answering /api/health; and the root Dockerfile's image
// running as non-root against a mounted Docker socket.

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const NODE_IMAGE = "deploykit-test/node:24";
const TAG = `deploykit-test/installed:${process.pid}`;
const IMAGE_TAG = `deploykit-test/image:${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), "dk-install-"));
const containers: string[] = [];
const env = { ...process.env, DOCKER_HOST: `unix://${HOST_SOCKET}`, DOCKER_BUILDKIT: "0" };

async function docker(args: string[], opts: { timeout?: number } = {}): Promise<string> {
  const { stdout } = await run("docker", args, { env, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeout ?? 600_000 });
  return stdout;
}

/** Strict parse of a systemd unit: sections, then Key=Value lines. */
function parseUnit(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const line of unit.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sec = /^\[(Unit|Service|Install)\]$/.exec(line);
    if (sec) section = sec[1] as string;
    else {
      const kv = /^([A-Z][A-Za-z]+)=(\S.*)$/.exec(line);
      if (!section || !kv) throw new Error(`bad unit line: ${line}`);
      out.set(`${section}.${kv[1]}`, [...(out.get(`${section}.${kv[1]}`) ?? []), kv[2] as string]);
    }
  }
  return out;
}

beforeAll(async () => {
  await run("bash", [join(ROOT, "scripts/debian-image.sh")], { env, timeout: 600_000 });
  // The build context: the Dockerfile and this host's CA bundle (npm behind a TLS-intercepting proxy).
  const ctx = join(tmp, "node-image");
  mkdirSync(ctx);
  copyFileSync(join(ROOT, "test/install/node-image.Dockerfile"), join(ctx, "Dockerfile"));
  copyFileSync(process.env.NODE_EXTRA_CA_CERTS ?? "/etc/ssl/certs/ca-certificates.crt", join(ctx, "extra-ca.crt"));
  await docker(["build", "-q", "-t", NODE_IMAGE, ctx], { timeout: 900_000 });
}, 900_000);

afterAll(async () => {
  for (const c of containers) await docker(["rm", "-f", c]).catch(() => {});
  await docker(["rmi", "-f", TAG, IMAGE_TAG]).catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
});

describe("the npm package, installed globally in a clean Debian container", () => {
  it("installs, prints a valid unit with install-service --dry-run, and serves /api/health and the SPA", async () => {
    // make test builds dist/ before any lane starts; `npm pack` would run prepack (a rebuild that
    // empties dist/public) under the end-to-end lane's daemon, so the built tree is packed as it is.
    if (!existsSync(join(ROOT, "dist/server/cmd/deploykitd/main.js")) || !existsSync(join(ROOT, "dist/public/index.html")))
      await run("npm", ["run", "build"], { cwd: ROOT, env: process.env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
    await run("npm", ["pack", "--ignore-scripts", "--pack-destination", tmp], {
      cwd: ROOT,
      env: process.env,
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz")) as string;
    expect(tgz).toMatch(/^deploykit-\d+\.\d+\.\d+\.tgz$/);
    const dockerfile = `FROM ${NODE_IMAGE}\nCOPY ${tgz} /tmp/\nRUN npm install -g --no-audit --no-fund /tmp/${tgz}\n`;
    await run("sh", ["-c", `printf '%s' "$DF" > ${tmp}/Dockerfile`], { env: { ...process.env, DF: dockerfile } });
    await docker(["build", "-q", "-t", TAG, tmp]);

    expect(await docker(["run", "--rm", TAG, "deploykitd", "-version"])).toMatch(/^deploykitd \d+\.\d+\.\d+\n$/);

    const dry = await docker(["run", "--rm", TAG, "deploykitd", "install-service", "--dry-run"]);
    const unit = /(# Written by `deploykitd install-service`[\s\S]*?WantedBy=multi-user\.target\n)/.exec(dry)?.[1] ?? "";
    const keys = parseUnit(unit);
    expect(keys.get("Service.User")).toEqual(["deploykit"]);
    expect(keys.get("Service.SupplementaryGroups")).toEqual(["docker"]);
    expect(keys.get("Service.Restart")).toEqual(["on-failure"]);
    expect(keys.get("Service.StateDirectory")).toEqual(["deploykit"]);
    expect(keys.get("Service.EnvironmentFile")).toEqual(["/etc/deploykit/deploykit.env"]);
    // ExecStart names the container's Node and the installed package's entry point, both real files.
    const [node, ...rest] = (keys.get("Service.ExecStart")?.[0] ?? "").split(" ");
    const main = rest.at(-1) as string;
    expect(main).toMatch(/\/node_modules\/deploykit\/dist\/server\/cmd\/deploykitd\/main\.js$/);
    await docker(["run", "--rm", TAG, "test", "-x", node as string]);
    await docker(["run", "--rm", TAG, "test", "-f", main]);

    const name = `dk-installed-${process.pid}`;
    containers.push(name);
    await docker(["run", "-d", "--name", name, TAG, "deploykitd", "-data-dir", "/var/lib/deploykit", "-addr", "127.0.0.1:8080"]);
    const fetchIn = (path: string) =>
      docker([
        "exec",
        name,
        "node",
        "-e",
        `fetch('http://127.0.0.1:8080${path}').then(async (r) => console.log(r.status, await r.text()))`,
      ]);
    await waitFor(async () => (await fetchIn("/api/health").catch(() => "")).startsWith("200"), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: "installed deploykitd /api/health",
    });
    expect(await fetchIn("/api/health")).toBe('200 {"status":"ok"}\n');
    expect(await fetchIn("/")).toMatch(/^200 <!doctype html>/);
  }, 900_000);
});

describe("the root Dockerfile", () => {
  let engine: Dockerd;
  beforeAll(async () => {
    engine = await Dockerd.start();
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  it("builds, runs as non-root with the Docker socket mounted, and reaches Docker", async () => {
    await docker(["build", "-q", "--build-arg", `NODE_IMAGE=${NODE_IMAGE}`, "-t", IMAGE_TAG, ROOT], { timeout: 900_000 });
    expect((await docker(["image", "inspect", "-f", "{{.Config.User}}", IMAGE_TAG])).trim()).toBe("deploykit");

    const gid = (await run("stat", ["-c", "%g", engine.socketPath])).stdout.trim();
    const port = await freePort();
    const name = `dk-image-${process.pid}`;
    containers.push(name);
    await docker([
      "run",
      "-d",
      "--name",
      name,
      "--network",
      "host",
      "--group-add",
      gid,
      "-v",
      `${engine.socketPath}:/var/run/docker.sock`,
      "-e",
      `DEPLOYKIT_ADDR=127.0.0.1:${port}`,
      IMAGE_TAG,
    ]);
    await waitFor(
      async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/api/health`)).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 500, what: "deploykitd in its image: /api/health" },
    );
    expect((await docker(["exec", name, "id", "-u"])).trim()).not.toBe("0");
    const logs = await run("docker", ["logs", name], { env });
    expect(logs.stdout + logs.stderr).toContain('"msg":"docker reachable"');
    expect(await docker(["exec", name, "ls", "/var/lib/deploykit"])).toContain("deploykit.db");
  }, 900_000);
});
