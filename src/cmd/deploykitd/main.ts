#!/usr/bin/env node
// Checked before anything else loads: on an older Node (Debian ships 18), the native SQLite module
// would crash the process with no explanation.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`deploykitd: needs Node.js 22.12 or newer (24 recommended); ${process.execPath} is ${process.version}.\n`);
  process.exit(1);
}
// Before the daemon's modules load dockerode: its SSH and BuildKit dependencies load on first use.
(await import("./lazy-deps.ts")).deferDockerodeExtras();
await import("./cli.ts");
