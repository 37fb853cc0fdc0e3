import { createRequire, Module } from "node:module";
import { dirname, join, sep } from "node:path";

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

/** Node's TLS stack: 7.2 MB of RSS in a bare Node 24, which the daemon needs only to dial or serve TLS. */
const TLS_BUILTINS = new Set(["https", "http2", "tls"]);

type Loader = (request: string, parent: Module | undefined, isMain: boolean) => unknown;

/**
 * fastify, ws, docker-modem and prom-client `require` https, http2 and tls at load, and use them only
 * to serve or dial TLS, which an idle daemon never does. A dependency's `require` of one of them
 * gets a stand-in that loads the real module on first use (any property read, write or enumeration).
 * The daemon's own modules import node:tls where they use it. Must run before the dependencies load.
 */
export function deferTLSBuiltins(): void {
  const M = Module as unknown as { _load: Loader & { deferTLS?: true } };
  if (M._load.deferTLS) return;
  const load = M._load;
  const standIns = new Map<string, object>();
  const deferring: Loader & { deferTLS?: true } = function (this: unknown, request, parent, isMain) {
    const name = request.startsWith("node:") ? request.slice(5) : request;
    if (!TLS_BUILTINS.has(name) || !parent?.filename?.includes(`${sep}node_modules${sep}`)) return load.call(this, request, parent, isMain);
    let standIn = standIns.get(name);
    if (!standIn) {
      standIn = lazyModule(() => load.call(this, `node:${name}`, parent, false) as object);
      standIns.set(name, standIn);
    }
    return standIn;
  };
  deferring.deferTLS = true;
  M._load = deferring;
}

/** An object that stands for `real()`'s module, loading it at the first operation that needs it. */
function lazyModule(real: () => object): object {
  let module: object | undefined;
  const it = () => (module ??= real());
  const proxy: object = new Proxy(
    {},
    {
      get: (_t, p) => Reflect.get(it(), p),
      // An object whose prototype is the module (docker-modem's protocol wrappers) gets its own
      // property, as it would from the real module, without loading it.
      set: (_t, p, v, receiver) =>
        receiver === proxy
          ? Reflect.set(it(), p, v)
          : Reflect.defineProperty(receiver as object, p, { value: v, writable: true, enumerable: true, configurable: true }),
      has: (_t, p) => Reflect.has(it(), p),
      ownKeys: () => Reflect.ownKeys(it()),
      getOwnPropertyDescriptor: (_t, p) => {
        const d = Reflect.getOwnPropertyDescriptor(it(), p);
        return d && { ...d, configurable: true };
      },
      defineProperty: (_t, p, d) => Reflect.defineProperty(it(), p, d),
      deleteProperty: (_t, p) => Reflect.deleteProperty(it(), p),
      getPrototypeOf: () => Reflect.getPrototypeOf(it()),
    },
  );
  return proxy;
}
