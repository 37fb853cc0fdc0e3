import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

// In a fresh process (this one's module cache is shared with other tests): what the daemon's
// modules load when imported and wired, before any request.
const SCRIPT = `
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const lazy = await import("./src/cmd/deploykitd/lazy-deps.ts");
const deferred = lazy.deferDockerodeExtras();
lazy.deferTLSBuiltins();
const docker = await import("./src/docker/index.ts");
new docker.Client({ instanceID: "lazy-test", socketPath: "/nonexistent.sock" });
await import("./src/http/index.ts");
await import("./src/sqlite/index.ts");
await import("./src/reconciler/index.ts");
await import("./src/build/index.ts");
await import("./src/proxy/index.ts");
await import("./src/metrics/index.ts");
const loaded = (part) => Object.keys(require.cache).some((f) => f.includes(part));
const builtin = (name) => process.moduleLoadList.includes("NativeModule " + name);
const PARTS = ["/ssh2/", "/@grpc/", "/protobufjs/", "/@fastify/swagger-ui/", "/@fastify/static/", "/luxon/", "/tar/", "/ignore/"];
const BUILTINS = ["tls", "https", "http2", "internal/deps/undici/undici"];
const atStart = [...PARTS.filter(loaded), ...BUILTINS.filter(builtin)];
const agent = require(deferred[0])({ host: "example.invalid" });
// A dependency's stand-in loads the real module at first use: ws dials TLS through it.
const WebSocket = require("ws");
const dial = await new Promise((resolve) => {
  const ws = new WebSocket("wss://127.0.0.1:1");
  ws.on("error", (err) => resolve(err.code));
});
console.log(JSON.stringify({ atStart, sshAfterUse: loaded("/ssh2/"), agent: typeof agent.createConnection, dial, tlsAfterUse: builtin("tls") }));
`;

describe("start-up loads only what an idle daemon uses", () => {
  it("dockerode's SSH and BuildKit dependencies, Node's TLS stack, cron, tar and the Swagger UI wait for first use", () => {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", SCRIPT], { cwd: root, encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "")).toEqual({
      atStart: [],
      sshAfterUse: true,
      agent: "function",
      dial: "ECONNREFUSED",
      tlsAfterUse: true,
    });
  });

  it("an object built on a deferred module (docker-modem's protocol wrappers) keeps its own properties without loading it", () => {
    const script = `
      const lazy = await import("./src/cmd/deploykitd/lazy-deps.ts");
      lazy.deferTLSBuiltins();
      const { createRequire } = await import("node:module");
      const modem = createRequire(import.meta.url)("docker-modem/lib/http.js");
      const before = process.moduleLoadList.includes("NativeModule https");
      const own = Object.hasOwn(modem.https, "request");
      const agent = new modem.https.Agent({ keepAlive: false });
      console.log(JSON.stringify({ before, own, agent: agent.constructor.name, after: process.moduleLoadList.includes("NativeModule https") }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "")).toEqual({ before: false, own: true, agent: "Agent", after: true });
  });
});
