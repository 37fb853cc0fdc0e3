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
const deferred = (await import("./src/cmd/deploykitd/lazy-deps.ts")).deferDockerodeExtras();
const docker = await import("./src/docker/index.ts");
new docker.Client({ instanceID: "lazy-test", socketPath: "/nonexistent.sock" });
await import("./src/http/index.ts");
const loaded = (part) => Object.keys(require.cache).some((f) => f.includes(part));
const PARTS = ["/ssh2/", "/@grpc/", "/protobufjs/", "/@fastify/swagger-ui/", "/@fastify/static/"];
const atStart = PARTS.filter(loaded);
const agent = require(deferred[0])({ host: "example.invalid" });
console.log(JSON.stringify({ atStart, sshAfterUse: loaded("/ssh2/"), agent: typeof agent.createConnection }));
`;

describe("start-up loads only what an idle daemon uses", () => {
  it("dockerode's SSH and BuildKit dependencies and the Swagger UI wait for first use", () => {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", SCRIPT], { cwd: root, encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "")).toEqual({ atStart: [], sshAfterUse: true, agent: "function" });
  });
});
