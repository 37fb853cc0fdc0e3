import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// Proves the architecture rules of `npm run lint` bite: each case lays out a tiny tree in a temp
// folder with the project's dependency-cruiser config and expects exactly the named rule to fire.
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const depcruise = join(root, "node_modules/.bin/depcruise");
const dirs: string[] = [];

function cruise(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "dk-arch-"));
  dirs.push(dir);
  copyFileSync(join(root, ".dependency-cruiser.cjs"), join(dir, ".dependency-cruiser.cjs"));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { allowImportingTsExtensions: true, noEmit: true, module: "NodeNext" } }),
  );
  symlinkNodeModules(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  try {
    execFileSync(depcruise, ["--config", ".dependency-cruiser.cjs", "src", "frontend"], { cwd: dir, encoding: "utf8", stdio: "pipe" });
    return "";
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? "");
  }
}

function symlinkNodeModules(dir: string): void {
  execFileSync("ln", ["-s", join(root, "node_modules"), join(dir, "node_modules")]);
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const domain = { "src/index.ts": "export const domain = 1;\n", "frontend/app/x.ts": "export const x = 1;\n" };

describe("architecture rules", () => {
  it.each([
    [
      "no-sibling-implementations",
      {
        "src/docker/client.ts": "export const c = 1;\n",
        "src/sqlite/db.ts": 'import { c } from "../docker/client.ts";\nexport const d = c;\n',
      },
    ],
    [
      "domain-imports-only-domain",
      { "src/sqlite/db.ts": "export const d = 1;\n", "src/project.ts": 'import { d } from "./sqlite/db.ts";\nexport const p = d;\n' },
    ],
    ["domain-imports-only-domain", { "src/project.ts": 'import { readFileSync } from "node:fs";\nexport const p = readFileSync;\n' }],
    [
      "only-cmd-imports-implementations",
      {
        "src/sqlite/db.ts": "export const d = 1;\n",
        "frontend/app/y.ts": 'import type { d } from "../../src/sqlite/db.ts";\nexport type Y = typeof d;\n',
      },
    ],
    [
      "frontend-imports-only-the-domain-root",
      {
        "src/sqlite/db.ts": "export const d = 1;\n",
        "frontend/app/y.ts": 'import { d } from "../../src/sqlite/db.ts";\nexport const y = d;\n',
      },
    ],
    [
      "tests-reach-siblings-only-through-the-real-store",
      {
        "src/sqlite/db.ts": "export const d = 1;\n",
        "src/reconciler/pass.test.ts": 'import { d } from "../sqlite/db.ts";\nexport const t = d;\n',
      },
    ],
    [
      "tests-reach-siblings-only-through-the-real-store",
      {
        "src/docker/client.ts": "export const c = 1;\n",
        "src/reconciler/testutil.ts": 'import { c } from "../docker/client.ts";\nexport const t = c;\n',
      },
    ],
    [
      "no-circular",
      {
        "src/deployment.ts": 'import type { Service } from "./service.ts";\nexport type D = { s?: Service };\n',
        "src/service.ts": 'import type { D } from "./deployment.ts";\nexport type Service = { d?: D };\n',
      },
    ],
    [
      "cli-imports-only-client",
      {
        "src/http/server.ts": "export const s = 1;\n",
        "src/cli/main.ts": 'import { s } from "../http/server.ts";\nexport const m = s;\n',
      },
    ],
    [
      "cli-imports-only-client",
      {
        "src/sqlite/db.ts": "export const d = 1;\n",
        "src/cli/main.ts": 'import { d } from "../sqlite/db.ts";\nexport const m = d;\n',
      },
    ],
    [
      "cli-is-a-leaf",
      {
        "src/cli/main.ts": "export const m = 1;\n",
        "src/http/server.ts": 'import { m } from "../cli/main.ts";\nexport const s = m;\n',
      },
    ],
    [
      "mocks-only-in-tests",
      {
        "src/mock/index.ts": "export const fake = 1;\n",
        "src/cmd/deploykitd/main.ts": 'import { fake } from "../../mock/index.ts";\nexport const m = fake;\n',
      },
    ],
    [
      "spa-features-do-not-import-each-other",
      {
        "frontend/app/features/services/api/services.ts": "export const s = 1;\n",
        "frontend/app/features/canvas/node.ts": 'import { s } from "../services/api/services.ts";\nexport const n = s;\n',
      },
    ],
    [
      "spa-shared-layers-do-not-import-features",
      {
        "frontend/app/features/auth/context.ts": "export const a = 1;\n",
        "frontend/app/components/menu.ts": 'import { a } from "../features/auth/context.ts";\nexport const m = a;\n',
      },
    ],
    [
      "spa-shared-layers-do-not-import-features",
      {
        "frontend/app/features/auth/context.ts": "export const a = 1;\n",
        "frontend/app/shared/services/api.ts": 'import { a } from "../../features/auth/context.ts";\nexport const m = a;\n',
      },
    ],
    [
      "spa-features-do-not-import-the-app",
      {
        "frontend/app/routes/home.ts": "export const h = 1;\n",
        "frontend/app/features/canvas/node.ts": 'import { h } from "../../routes/home.ts";\nexport const n = h;\n',
      },
    ],
  ])("%s fires", (rule, files) => {
    const out = cruise({ ...domain, ...files });
    expect(out).toContain(`error ${rule}:`);
  });

  it("allowed shapes pass", () => {
    const out = cruise({
      ...domain,
      "src/project.ts": "export const p = 1;\n",
      "src/sqlite/db.ts": 'import { p } from "../project.ts";\nexport const d = p;\n',
      "src/docker/client.ts": 'import { p } from "../index.ts";\nexport const c = p;\n',
      "src/cmd/deploykitd/main.ts":
        'import { d } from "../../sqlite/db.ts";\nimport { c } from "../../docker/client.ts";\nexport const m = [d, c];\n',
      "frontend/app/z.ts": 'import type { p } from "../../src/project.ts";\nexport type Z = typeof p;\n',
      "src/http/client.ts": 'import { p } from "../index.ts";\nexport const k = p;\n',
      "src/cli/main.ts": 'import { k } from "../http/client.ts";\nimport { p } from "../index.ts";\nexport const m = [k, p];\n',
      "frontend/app/v.ts": 'import { p } from "../../src/project.ts";\nexport const v = p;\n',
      "src/sqlite/testing.ts": 'import { d } from "./db.ts";\nexport const store = d;\n',
      "src/reconciler/testutil.ts": 'import { store } from "../sqlite/testing.ts";\nexport const s = store;\n',
      "src/reconciler/pass.test.ts": 'import { store } from "../sqlite/testing.ts";\nexport const t = store;\n',
      "frontend/app/lib/api.ts": 'import { p } from "../../src/project.ts";\nexport const l = p;\n',
      "frontend/app/shared/services/api.ts": 'import { l } from "../../lib/api.ts";\nexport const s = l;\n',
      "frontend/app/features/canvas/lib/flow.ts": 'import { s } from "../../../shared/services/api.ts";\nexport const f = s;\n',
      "frontend/app/features/canvas/view.ts": 'import { f } from "./lib/flow.ts";\nexport const c = f;\n',
      "frontend/app/features/services/panel.ts": 'import { s } from "../../shared/services/api.ts";\nexport const sp = s;\n',
      "frontend/app/routes/canvas.ts":
        'import { c } from "../features/canvas/view.ts";\nimport { sp } from "../features/services/panel.ts";\nexport const r = [c, sp];\n',
      "frontend/app/router.tsx": 'import { r } from "./routes/canvas.ts";\nexport const router = r;\n',
    });
    expect(out).toBe("");
  });
});
