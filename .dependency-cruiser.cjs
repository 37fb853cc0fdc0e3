/**
 * The architecture, enforced (PRODUCT.md §1): the domain root imports nothing below it and no
 * package; implementation folders import only the domain root; only src/cmd wires implementations;
 * the SPA imports the domain root (types and values) and nothing else of src/; the CLI (src/cli) is an
 * API consumer like the SPA: it imports the domain root and the typed HTTP client, nothing else of the server.
 * Inside the SPA (STYLE.md §14, §16): shared layers → features → app. A feature never imports another
 * feature; what two features use lives in a shared layer (components, lib, shared), which imports no
 * feature; only the app (routes, router.tsx, main.tsx) composes features.
 */
const IMPL = "^src/(http|sqlite|docker|events|reconciler|sysinfo|ingress|firewall|proxy|build|metrics|mock|cli)/";
/** The SPA's app layer: the only place that may compose features. */
const SPA_APP = ["^frontend/app/routes/", "^frontend/app/(main|router)\\.tsx?$"];
/** A folder's tests and their helpers (testutil.ts). */
const TEST_SUPPORT = "(\\.test|/testutil)\\.ts$";
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
      from: { path: "^src/([^/]+)/", pathNot: ["^src/cmd/", "^src/cli/", TEST_SUPPORT] },
      to: { path: "^src/([^/]+)/", pathNot: ["^src/$1/", "^src/mock/"] },
    },
    {
      name: "tests-reach-siblings-only-through-the-real-store",
      comment:
        "A folder's tests may run on the real store (src/sqlite/testing.ts: SQLite in memory, STYLE.md §11), and otherwise follow no-sibling-implementations.",
      severity: "error",
      from: { path: "^src/([^/]+)/(.*\\.test|testutil|.*/testutil)\\.ts$", pathNot: "^src/cmd/" },
      to: { path: "^src/([^/]+)/", pathNot: ["^src/$1/", "^src/mock/", "^src/sqlite/testing\\.ts$"] },
    },
    {
      name: "cli-imports-only-client",
      comment: "The CLI is an API consumer: of the server it imports only the domain root and the typed client src/http/client.ts.",
      severity: "error",
      from: { path: "^src/cli/" },
      to: { path: "^src/[^/]+/", pathNot: ["^src/cli/", "^src/http/client\\.ts$"] },
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
      name: "cli-is-a-leaf",
      comment: "Nothing in the server imports the CLI.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/cli/"] },
      to: { path: "^src/cli/" },
    },
    {
      name: "frontend-imports-only-the-domain-root",
      comment:
        "The SPA imports types and values from the root src/*.ts files only: they import nothing but each other (domain-imports-only-domain), so they bundle, and the SPA uses the domain's own rules instead of copies (STYLE.md §16). Never an implementation folder.",
      severity: "error",
      from: { path: "^frontend/" },
      to: { path: "^src/", pathNot: "^src/[^/]+\\.ts$" },
    },
    {
      name: "spa-features-do-not-import-each-other",
      comment:
        "frontend/app/features/X imports no other feature: what two features share moves to a shared layer (frontend/app/shared, components, lib); the route composes features (STYLE.md §16).",
      severity: "error",
      from: { path: "^frontend/app/features/([^/]+)/" },
      to: { path: "^frontend/app/features/", pathNot: "^frontend/app/features/$1/" },
    },
    {
      name: "spa-shared-layers-do-not-import-features",
      comment:
        "Shared SPA layers (frontend/app/components, lib, shared, …) import no feature and not the app layer: they sit below the features that use them.",
      severity: "error",
      from: { path: "^frontend/app/", pathNot: ["^frontend/app/features/", ...SPA_APP] },
      to: { path: ["^frontend/app/features/", ...SPA_APP] },
    },
    {
      name: "spa-features-do-not-import-the-app",
      comment: "Features do not import routes, the router or main.tsx: the app layer composes features, never the reverse.",
      severity: "error",
      from: { path: "^frontend/app/features/" },
      to: { path: SPA_APP },
    },
    {
      name: "no-circular",
      comment: "No import cycles, the domain root included (deployment.ts ↔ service.ts was the last).",
      severity: "error",
      from: {},
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
