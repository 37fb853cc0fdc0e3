import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type BuildBases, DETECTED_BY, detectDockerfile, procfileWeb, withoutCacheMounts } from "./detect.ts";

const BASES: BuildBases = { node: "base/node:1", python: "base/python:1", go: "base/go:1", static: "base/static:1" };
const root = await mkdtemp(join(tmpdir(), "dk-detect-"));
afterAll(() => rm(root, { recursive: true, force: true }));

let n = 0;
/** A fixture checkout: file path → content. */
async function mustFixture(files: Record<string, string | undefined>): Promise<string> {
  const dir = join(root, String(n++));
  await mkdir(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    if (text === undefined) continue;
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

async function mustDetect(files: Record<string, string | undefined>) {
  const r = await detectDockerfile(await mustFixture(files), BASES);
  if (!r.ok) throw new Error(`not detected: ${r.message}`);
  return r;
}

const pkg = (o: object) => JSON.stringify(o);

describe("detectDockerfile: Node", () => {
  it.each([
    { lock: "package-lock.json", install: "RUN --mount=type=cache,target=/root/.npm npm ci", start: '["npm","run","start"]', pm: "npm" },
    { lock: "npm-shrinkwrap.json", install: "npm ci", start: '["npm","run","start"]', pm: "npm" },
    { lock: null, install: "npm install", start: '["npm","run","start"]', pm: "npm" },
    { lock: "pnpm-lock.yaml", install: "pnpm install --frozen-lockfile", start: '["pnpm","run","start"]', pm: "pnpm" },
    { lock: "yarn.lock", install: "yarn install --frozen-lockfile", start: '["yarn","run","start"]', pm: "yarn" },
  ])("picks the package manager from the lockfile ($lock)", async ({ lock, install, start, pm }) => {
    const files: Record<string, string> = { "package.json": pkg({ scripts: { start: "node server.js" } }), "server.js": "" };
    if (lock) files[lock] = "{}";
    const r = await mustDetect(files);
    expect(r.kind).toBe("node");
    expect(r.dockerfile).toContain("FROM base/node:1\n");
    expect(r.dockerfile).toContain(install);
    expect(r.dockerfile).toContain(`CMD ${start}\n`);
    expect(r.dockerfile).toContain(`COPY package.json${lock ? ` ${lock}` : ""} ./`);
    if (pm !== "npm") expect(r.dockerfile).toContain(`RUN npm install -g ${pm}`);
    else expect(r.dockerfile).not.toContain("install -g");
  });

  it("installs before copying the sources, builds after, and only then sets NODE_ENV", async () => {
    const r = await mustDetect({
      "package.json": pkg({ scripts: { build: "tsc", start: "node dist/index.js" } }),
      "package-lock.json": "{}",
    });
    const lines = r.dockerfile.split("\n");
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(at("COPY package.json")).toBeLessThan(at("RUN --mount=type=cache,target=/root/.npm npm ci"));
    expect(at("RUN --mount")).toBeLessThan(at("COPY . ."));
    expect(at("COPY . .")).toBeLessThan(at("RUN npm run build"));
    expect(at("RUN npm run build")).toBeLessThan(at("ENV NODE_ENV=production"));
  });

  it("yarn berry (.yarnrc.yml) and a packageManager field use corepack and --immutable", async () => {
    const r = await mustDetect({
      "package.json": pkg({ packageManager: "yarn@4.1.0", scripts: { start: "node ." } }),
      "yarn.lock": "",
      ".yarnrc.yml": "nodeLinker: node-modules\n",
    });
    expect(r.dockerfile).toContain("RUN corepack enable\n");
    expect(r.dockerfile).toContain("COPY package.json yarn.lock .yarnrc.yml ./");
    expect(r.dockerfile).toContain("yarn install --immutable");
  });

  it.each([
    { files: { "package.json": pkg({ main: "app/main.js" }) }, cmd: '["node","app/main.js"]' },
    { files: { "package.json": pkg({}), "server.js": "" }, cmd: '["node","server.js"]' },
    { files: { "package.json": pkg({}), "index.js": "" }, cmd: '["node","index.js"]' },
  ])("without a start script, starts $cmd", async ({ files, cmd }) => {
    expect((await mustDetect(files)).dockerfile).toContain(`CMD ${cmd}\n`);
  });

  it("a script with quotes or newlines stays inside the JSON exec form", async () => {
    const r = await mustDetect({ "package.json": pkg({ main: 'x"\nRUN rm -rf /' }) });
    expect(r.dockerfile).toContain('CMD ["node","x\\"\\nRUN rm -rf /"]\n');
    expect(r.dockerfile.split("\n").filter((l) => l.startsWith("RUN rm"))).toEqual([]);
  });

  it.each([
    { files: { "package.json": pkg({ scripts: { build: "vite build" } }) }, message: /nothing to start/ },
    { files: { "package.json": "not json" }, message: /not a JSON object/ },
    { files: { "package.json": "[]" }, message: /not a JSON object/ },
  ])("fails with what it looked for: $message", async ({ files, message }) => {
    const r = await detectDockerfile(await mustFixture(files), BASES);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toMatch(message);
      expect(r.looked_for.length).toBeGreaterThan(0);
    }
  });
});

describe("detectDockerfile: Python", () => {
  it.each([
    {
      name: "Procfile web process",
      files: { "requirements.txt": "flask\n", Procfile: "release: ./migrate\nweb: gunicorn app:app -b 0.0.0.0:$PORT\n" },
      cmd: '["sh","-c","gunicorn app:app -b 0.0.0.0:$PORT"]',
    },
    {
      name: "FastAPI in main.py",
      files: {
        "requirements.txt": "fastapi==0.110\nuvicorn[standard]>=0.29\n",
        "main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
      },
      cmd: '["uvicorn","main:app","--host","0.0.0.0","--port","8000"]',
    },
    {
      name: "Flask in app.py",
      files: { "requirements.txt": "Flask>=3\n", "app.py": "import flask\nserver = flask.Flask(__name__)\n" },
      cmd: '["gunicorn","--bind","0.0.0.0:8000","app:server"]',
    },
    {
      name: "Starlette in pyproject",
      files: {
        "pyproject.toml": '[project]\nname = "x"\ndependencies = ["starlette", "uvicorn"]\n',
        "asgi.py": "from starlette.applications import Starlette\napplication = Starlette()\n",
      },
      cmd: '["uvicorn","asgi:application","--host","0.0.0.0","--port","8000"]',
    },
    {
      name: "Falcon",
      files: { "requirements.txt": "falcon\ngunicorn\n", "wsgi.py": "import falcon\napp = falcon.App()\n" },
      cmd: '["gunicorn","--bind","0.0.0.0:8000","wsgi:app"]',
    },
    {
      name: "Django",
      files: { "requirements.txt": "Django==5.0\n", "manage.py": "", "mysite/wsgi.py": "application = get_wsgi_application()\n" },
      cmd: '["gunicorn","--bind","0.0.0.0:8000","mysite.wsgi"]',
    },
  ])("$name", async ({ files, cmd }) => {
    const r = await mustDetect(files);
    expect(r.kind).toBe("python");
    expect(r.dockerfile).toContain("FROM base/python:1\n");
    expect(r.dockerfile).toContain(`CMD ${cmd}\n`);
  });

  it("requirements.txt is installed before the sources are copied; a missing server is added", async () => {
    const r = await mustDetect({ "requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n" });
    const lines = r.dockerfile.split("\n");
    expect(lines.indexOf("COPY requirements.txt ./")).toBeLessThan(lines.indexOf("COPY . ."));
    expect(r.dockerfile).toContain("pip install -r requirements.txt");
    expect(r.dockerfile).toContain("pip install gunicorn\n");
  });

  it("pyproject.toml alone installs the project", async () => {
    const r = await mustDetect({ "pyproject.toml": 'dependencies = ["fastapi"]\n', "main.py": "app = FastAPI()\n" });
    expect(r.dockerfile).toContain("pip install .\n");
    expect(r.dockerfile).toContain("pip install uvicorn\n");
  });

  it("a framework object whose package is not a dependency is not an entry", async () => {
    const r = await detectDockerfile(await mustFixture({ "requirements.txt": "requests\n", "main.py": "app = FastAPI()\n" }), BASES);
    expect(r).toMatchObject({ ok: false, looked_for: expect.arrayContaining(["Procfile (web:)", "main.py", "app.py"]) });
    if (!r.ok) expect(r.message).toMatch(/^Python app .* nothing to start/);
  });
});

describe("detectDockerfile: Go", () => {
  it("builds the root package in the Go base and runs it in the static base", async () => {
    const r = await mustDetect({ "go.mod": "module x\n", "go.sum": "", "main.go": "package main\n" });
    expect(r.kind).toBe("go");
    expect(r.dockerfile).toContain("FROM base/go:1 AS build\n");
    expect(r.dockerfile).toContain("COPY go.mod go.sum ./\n");
    expect(r.dockerfile).toMatch(/go build .* -o \/out\/app \.\n/);
    expect(r.dockerfile).toContain("FROM base/static:1\n");
    expect(r.dockerfile).toContain('CMD ["/app"]');
  });

  it("builds the one command under cmd/", async () => {
    const r = await mustDetect({ "go.mod": "module x\n", "cmd/api/main.go": "package main\n", "internal/x.go": "" });
    expect(r.dockerfile).toContain("COPY go.mod ./\n");
    expect(r.dockerfile).toMatch(/-o \/out\/app \.\/cmd\/api\n/);
  });

  it("refuses to guess between several commands", async () => {
    const r = await detectDockerfile(await mustFixture({ "go.mod": "", "cmd/a/main.go": "", "cmd/b/main.go": "" }), BASES);
    expect(r).toMatchObject({ ok: false, looked_for: ["main.go", "cmd/*/main.go"] });
  });
});

describe("detectDockerfile: static site and nothing", () => {
  it("serves index.html with busybox httpd on $PORT", async () => {
    const r = await mustDetect({ "index.html": "<h1>hi</h1>", "style.css": "" });
    expect(r).toMatchObject({ ok: true, kind: "static" });
    expect(r.dockerfile).toContain("FROM base/static:1\nCOPY . /www\n");
    expect(r.dockerfile).toContain('CMD ["sh", "-c", "exec httpd -f -v -p \\"${PORT:-8080}\\" -h /www"]');
  });

  it("package.json wins over index.html (a front-end app with a build step)", async () => {
    expect((await mustDetect({ "package.json": pkg({ scripts: { start: "vite preview" } }), "index.html": "" })).kind).toBe("node");
  });

  it("an empty or unknown checkout fails listing every detector", async () => {
    for (const files of [{}, { "README.md": "# hi", "main.rs": "" }]) {
      const r = await detectDockerfile(await mustFixture(files), BASES);
      expect(r).toEqual({
        ok: false,
        message: expect.stringMatching(/^No Dockerfile, and no app DeployKit can detect/),
        looked_for: [...DETECTED_BY],
      });
    }
  });

  it("a missing directory is an empty checkout, not a throw", async () => {
    expect((await detectDockerfile(join(root, "absent"), BASES)).ok).toBe(false);
  });

  it("ignores manifests that are symlinks (they may point out of the checkout)", async () => {
    const dir = await mustFixture({ "real.json": pkg({ scripts: { start: "x" } }) });
    await symlink(join(dir, "real.json"), join(dir, "package.json"));
    await symlink("/etc/hostname", join(dir, "index.html"));
    expect(await detectDockerfile(dir, BASES)).toMatchObject({ ok: false, looked_for: [...DETECTED_BY] });
  });
});

describe("procfileWeb", () => {
  it.each([
    ["web: node server.js", "node server.js"],
    ["worker: x\nweb:   bin/start  \n", "bin/start"],
    ["worker: x", null],
    ["web:", null],
  ])("%j → %j", (text, want) => {
    expect(procfileWeb(text)).toBe(want);
  });
});

describe("withoutCacheMounts", () => {
  it("drops BuildKit's cache mounts from RUN steps for the classic builder, and nothing else", () => {
    const df = [
      "FROM golang AS build",
      "RUN --mount=type=cache,target=/go/pkg/mod go mod download",
      "RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build go build -o /out/app .",
      'RUN echo "--mount=type=cache,target=/x stays in an argument"',
      "",
    ].join("\n");
    expect(withoutCacheMounts(df)).toBe(
      [
        "FROM golang AS build",
        "RUN go mod download",
        "RUN go build -o /out/app .",
        'RUN echo "--mount=type=cache,target=/x stays in an argument"',
        "",
      ].join("\n"),
    );
  });
});
