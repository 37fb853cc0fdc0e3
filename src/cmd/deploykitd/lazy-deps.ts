import { createRequire, Module } from "node:module";
import { dirname, join } from "node:path";

/**
 * dockerode loads, at import, its SSH transport (ssh2) and its BuildKit session (gRPC, protobuf):
 * ≈ 30 MB of an idle daemon that talks to a local socket and never builds through dockerode. Each of
 * those two files exports one function; until that function is first called, the module cache holds
 * a stand-in that loads the real file then. Must run before anything imports dockerode.
 */
export function deferDockerodeExtras(): string[] {
  const require = createRequire(import.meta.url);
  const dockerode = dirname(require.resolve("dockerode"));
  const modem = dirname(createRequire(join(dockerode, "docker.js")).resolve("docker-modem"));
  const deferred = [join(modem, "ssh.js"), join(dockerode, "session.js")];
  for (const file of deferred) defer(require, file);
  return deferred;
}

function defer(require: NodeJS.Require, file: string): void {
  if (require.cache[file]) return;
  const stub = new Module(file);
  stub.filename = file;
  stub.loaded = true;
  stub.exports = function deferred(this: unknown, ...args: unknown[]) {
    delete require.cache[file];
    const real = require(file) as (...a: unknown[]) => unknown;
    return real.apply(this, args);
  };
  require.cache[file] = stub;
}
