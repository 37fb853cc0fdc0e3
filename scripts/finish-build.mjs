// After tsc: make the entry points executable and write dist/deploykitd and dist/deploykit, launchers
// that run them with the Node they were built with (Node 24 from .tools/ when the system Node is too old).
import { chmodSync, copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const main = join(root, "dist/server/cmd/deploykitd/main.js");
chmodSync(main, 0o755);
const launcher = `#!/bin/sh
# Starts DeployKit with the Node.js that built it.
here="$(cd "$(dirname "$0")" && pwd)"
# A small young generation keeps the idle daemon inside its memory budget (see bench/memory.ts).
exec "${process.execPath}" --max-semi-space-size=2 "$here/${relative(join(root, "dist"), main)}" "$@"
`;
writeFileSync(join(root, "dist/deploykitd"), launcher, { mode: 0o755 });

// The CLI (bin `deploykit`): dist/deploykit runs it with the same Node.
const cli = join(root, "dist/server/cli/main.js");
chmodSync(cli, 0o755);
writeFileSync(
  join(root, "dist/deploykit"),
  `#!/bin/sh
# The DeployKit command line, with the Node.js that built it.
here="$(cd "$(dirname "$0")" && pwd)"
exec "${process.execPath}" "$here/${relative(join(root, "dist"), cli)}" "$@"
`,
  { mode: 0o755 },
);

// tsc copies no .sql: the SQLite layer reads its migrations next to the compiled module.
const migrationsSrc = join(root, "src/sqlite/migrations");
const migrationsOut = join(root, "dist/server/sqlite/migrations");
mkdirSync(migrationsOut, { recursive: true });
for (const f of readdirSync(migrationsSrc).filter((f) => f.endsWith(".sql"))) copyFileSync(join(migrationsSrc, f), join(migrationsOut, f));
