import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildBases, basesOf, detectDockerfile } from "../../src/build/detect.ts";
import { SettingsService } from "../../src/sqlite/settings.ts";
import { mustOpenDB } from "../../src/sqlite/testing.ts";
import { HOST_SOCKET, TEST_IMAGE } from "../harness/dockerd.ts";
import { NODE_IMAGE } from "../harness/images.ts";
import { waitFor } from "../harness/wait.ts";

// Issue 13: the Dockerfiles detection writes must build on the real dockerd with BuildKit (cache
// mounts included) and the result must serve. The base settings point at local images: there is no
// registry here. Every container and image this file makes is named with its own prefix. The Go
// Dockerfile is covered by src/build/detect.test.ts only: a local Go base (Debian's golang-go through
// mmdebstrap) took ~15 minutes to build, more than CI can give it.

const run = promisify(execFile);
/**
 * A build on a machine shared with other work can take minutes (at load average 200 on 2 cores, `npm
 * install` alone passed 6 minutes, and `npm start` 30 s): the project's 120 s is for deploys.
 */
const BUILD_TIMEOUT = 600_000;
const PREFIX = `dk-builds-ui-${randomBytes(3).toString("hex")}`;
const made: { containers: string[]; images: string[] } = { containers: [], images: [] };
const root = await mkdtemp(join(tmpdir(), "dk-gen-"));
let bases: BuildBases;

beforeAll(async () => {
  const settings = new SettingsService(mustOpenDB());
  bases = basesOf(await settings.updateSettings({ build_base_node: NODE_IMAGE, build_base_static: TEST_IMAGE }));
});

afterAll(async () => {
  // Through then(): a spawn that fails synchronously (seen once under heavy load: ELOOP) is caught too.
  const quietly = (args: string[]) =>
    Promise.resolve()
      .then(() => run("docker", args))
      .catch(() => {});
  for (const c of made.containers) await quietly(["rm", "-f", c]);
  for (const i of made.images) await quietly(["rmi", "-f", i]);
  await rm(root, { recursive: true, force: true });
});

async function mustFixture(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

/**
 * Detects, then builds with BuildKit through the Engine API (`POST /build?version=2` with the context
 * as a tar body: the daemon's BuildKit reads an uploaded context without a client session; the
 * Debian docker CLI here has no buildx, so `DOCKER_BUILDKIT=1 docker build` is not available).
 * The generated Dockerfile travels in the context under a name of its own.
 */
async function mustBuild(name: string, dir: string): Promise<{ tag: string; dockerfile: string; seconds: number }> {
  const det = await detectDockerfile(dir, bases);
  if (!det.ok) throw new Error(det.message);
  await writeFile(join(dir, "Dockerfile.deploykit"), det.dockerfile);
  const tag = `${PREFIX}/${name}:1`;
  made.images.push(tag);
  const t0 = performance.now();
  const docker = new Docker({ socketPath: HOST_SOCKET });
  const context = tar.create({ cwd: dir, portable: true }, await readdir(dir));
  const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: tag,
    dockerfile: "Dockerfile.deploykit",
    version: "2",
    labels: { "deploykit-test.builds-ui": "1" },
  });
  const events = await new Promise<{ error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))),
  );
  const failed = events.find((e) => e.error || e.errorDetail);
  if (failed) throw new Error(`build of ${name} failed: ${failed.error ?? failed.errorDetail?.message}\n${det.dockerfile}`);
  return { tag, dockerfile: det.dockerfile, seconds: (performance.now() - t0) / 1000 };
}

/** Runs the image with its port published on loopback and returns the body of GET / once it answers. */
async function mustServe(tag: string, port: number, env: string[] = []): Promise<string> {
  const name = `${PREFIX}-${tag.split("/")[1]?.split(":")[0]}`;
  made.containers.push(name);
  await run("docker", ["run", "-d", "--name", name, "-p", `127.0.0.1::${port}`, ...env.flatMap((e) => ["-e", e]), tag]);
  const { stdout } = await run("docker", ["port", name, `${port}/tcp`]);
  const addr = stdout.split("\n")[0]?.trim();
  return waitFor(
    async () => {
      const res = await fetch(`http://${addr}/`).catch(() => null);
      return res?.ok ? res.text() : null;
    },
    { timeoutMs: 120_000, what: `${tag} to serve on ${addr}` },
  );
}

describe("generated Dockerfiles build and run on the real dockerd", () => {
  it(
    "a static site is served by busybox httpd",
    async () => {
      const dir = await mustFixture("site", { "index.html": "<h1>static ok</h1>\n", "about/index.html": "about\n" });
      const b = await mustBuild("site", dir);
      expect(b.dockerfile).toContain(`FROM ${TEST_IMAGE}`);
      expect(await mustServe(b.tag, 8080)).toBe("<h1>static ok</h1>\n");
    },
    BUILD_TIMEOUT,
  );

  it(
    "a Node app with no lockfile: npm install, its build script, then its start script",
    async () => {
      const dir = await mustFixture("nodeapp", {
        "package.json": JSON.stringify({
          name: "nodeapp",
          private: true,
          scripts: { build: "node build.js", start: "node server.js" },
        }),
        "build.js": 'require("fs").writeFileSync("built.txt", "built at build time");\n',
        "server.js":
          'const http = require("http");\nconst built = require("fs").readFileSync("built.txt", "utf8");\n' +
          "http.createServer((q, r) => r.end(`node ok ${process.env.NODE_ENV} ${built}`)).listen(process.env.PORT);\n",
      });
      const b = await mustBuild("nodeapp", dir);
      expect(b.dockerfile).toContain(`FROM ${NODE_IMAGE}`);
      expect(b.dockerfile).toContain("RUN --mount=type=cache,target=/root/.npm npm install");
      expect(await mustServe(b.tag, 3000)).toBe("node ok production built at build time");
    },
    BUILD_TIMEOUT,
  );

  it(
    "a Node app with a dependency: npm install reaches the registry from the build, and a one-line change reuses the install layer",
    async () => {
      // Containers reach the npm registry through this machine's TLS-intercepting egress, whose CA
      // only the host trusts: the base the settings name is the Node test image plus the host's bundle.
      const caDir = await mustFixture("node-ca", { Dockerfile: "" });
      await copyFile("/etc/ssl/certs/ca-certificates.crt", join(caDir, "host-ca.crt"));
      await writeFile(
        join(caDir, "Dockerfile"),
        `FROM ${NODE_IMAGE}\nCOPY host-ca.crt /etc/ssl/certs/host-ca.crt\nENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca.crt\n`,
      );
      const base = `${PREFIX}/node-base:1`;
      made.images.push(base);
      await run("docker", ["build", "-q", "-t", base, caDir]);
      const saved = bases;
      bases = { ...bases, node: base };
      try {
        const files = {
          "package.json": JSON.stringify({
            name: "depapp",
            private: true,
            dependencies: { "is-number": "7.0.0" },
            scripts: { start: "node server.js" },
          }),
          "server.js":
            'const isNumber = require("is-number");\nrequire("http").createServer((q, r) => r.end(`deps ok ${isNumber(5)} v1`)).listen(process.env.PORT);\n',
        };
        const dir = await mustFixture("depapp", files);
        const first = await mustBuild("depapp", dir);
        expect(await mustServe(first.tag, 3000)).toBe("deps ok true v1");
        await writeFile(join(dir, "server.js"), files["server.js"].replace("v1", "v2"));
        const second = await mustBuild("depapp", dir);
        console.log(
          `node app with a dependency: first build ${first.seconds.toFixed(1)} s, after a one-line change ${second.seconds.toFixed(1)} s`,
        );
        expect(second.seconds).toBeLessThan(first.seconds);
      } finally {
        bases = saved;
      }
    },
    BUILD_TIMEOUT,
  );
});
