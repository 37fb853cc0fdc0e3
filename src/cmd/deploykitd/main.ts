#!/usr/bin/env node
// Checked before anything else loads: on an older Node (Debian ships 18), the native SQLite module
// would crash the process with no explanation.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`deploykitd: needs Node.js 22.12 or newer (24 recommended); ${process.execPath} is ${process.version}.\n`);
  process.exit(1);
}
// Start-up code runs once: V8's optimizing compilers wait until the daemon serves (idle-memory.ts).
(await import("./idle-memory.ts")).pauseOptimizers();
// Before the daemon's modules load their dependencies: dockerode's SSH and BuildKit parts and Node's
// TLS stack load on first use.
const lazy = await import("./lazy-deps.ts");
lazy.deferDockerodeExtras();
lazy.deferTLSBuiltins();
await import("./cli.ts");
