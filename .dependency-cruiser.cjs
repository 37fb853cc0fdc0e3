/**
 * The architecture, enforced (PRODUCT.md §1): the domain root imports nothing below it and no
 * package; implementation folders import only the domain root; only src/cmd wires implementations;
 * the SPA imports the domain for types only.
 */
const IMPL = "^src/(http|sqlite|docker|events|reconciler|sysinfo|ingress|firewall|proxy|mock|metrics)/";
module.exports = {
  forbidden: [
    {
      name: "domain-imports-only-domain",
      comment: "src/*.ts is the domain: it may import only other src/*.ts files, no folder and no npm package.",
      severity: "error",
      from: { path: "^src/[^/]+\\.ts$", pathNot: "\\.test\\.ts$" },
      to: { pathNot: "^src/[^/]+\\.ts$" },
    },
    {
      name: "no-sibling-implementations",
      comment: "An implementation folder imports the domain root only, never a sibling folder.",
      severity: "error",
      from: { path: "^src/([^/]+)/", pathNot: "^src/cmd/" },
      to: { path: "^src/([^/]+)/", pathNot: ["^src/$1/", "^src/mock/"] },
    },
    {
      name: "mocks-only-in-tests",
      comment: "The strict mocks in src/mock are for consumer tests (STYLE.md §11), never for production code.",
      severity: "error",
      from: { path: "^src/", pathNot: ["\\.test\\.ts$", "^src/mock/"] },
      to: { path: "^src/mock/" },
    },
    {
      name: "only-cmd-imports-implementations",
      comment: "Only src/cmd (the composition root) imports implementation folders.",
      severity: "error",
      from: { pathNot: ["^src/cmd/", IMPL, "^test/", "^bench/"] },
      to: { path: IMPL, pathNot: "^src/mock/" },
    },
    {
      name: "frontend-domain-types-only",
      comment: "The SPA imports the domain with `import type` only.",
      severity: "error",
      from: { path: "^frontend/" },
      to: { path: "^src/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "frontend-never-imports-implementations",
      severity: "error",
      from: { path: "^frontend/" },
      to: { path: "^src/.+/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: { pathNot: "^src/[^/]+\\.ts$" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: ["^dist/", "^\\.tools/"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
      extensions: [".ts", ".tsx", ".js", ".mjs"],
    },
  },
};
