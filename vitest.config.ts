import { defineConfig } from "vitest/config";

/**
 * The long suites, each on a private dockerd (the fault suites, the install test): `make test` runs
 * them (project `docker-long`) beside the other projects (scripts/test.sh).
 */
const LONG = [
  "test/faults/volume-safety.test.ts",
  "test/faults/reconcile-crash.test.ts",
  "test/faults/dockerd.test.ts",
  "test/faults/workloads.test.ts",
  "test/install/package.test.ts",
  "test/faults/acknowledged-writes.test.ts",
  "test/faults/power-loss.test.ts",
];

/**
 * Version 2's integration suites (builds, the CLI, metrics, logs, variables) and two long hostile/load
 * suites: a project of their own, so `make test` runs them in a lane beside `docker`
 * (both projects run their files one at a time).
 */
const V2 = [
  "test/builds/**/*.test.ts",
  "test/cli/**/*.test.ts",
  "test/metrics/**/*.test.ts",
  "test/logs/**/*.test.ts",
  "test/e2e-api/references.test.ts",
  "test/http/variables.test.ts",
  "test/http/sealed.test.ts",
  "test/hostile/fuzz.test.ts",
  "test/load/**/*.test.ts",
  "test/faults/backup.test.ts",
];

/**
 * Long files of the `docker` project, a project of their own so `make test` can run them in the
 * browser lane after the Chromium suites (lane B runs the unit project before `docker`, and was the
 * last lane to end: 1,005 s against 877 s for the browser lane).
 */
const DOCKER_LATE = [
  "test/reconciler/reconciler.test.ts",
  "test/ingress/**/*.test.ts",
  "test/http/revocation.test.ts",
  "test/e2e-api/deploy.test.ts",
];

// Five projects: fast unit tests (no Docker, no network), integration tests that need dockerd (three
// projects), and the long fault suites. `npx vitest run` runs them all.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "frontend/app/**/*.test.ts", "frontend/app/**/*.test.tsx", "scripts/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/*.docker.test.ts"],
          environment: "node",
          // Some unit tests start daemon processes; beside three other lanes one start took 20 s.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "docker",
          include: ["src/**/*.docker.test.ts", "test/**/*.test.ts"],
          exclude: ["**/node_modules/**", "test/e2e/**", ...LONG, ...V2, ...DOCKER_LATE],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "docker-late",
          include: DOCKER_LATE,
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "docker-v2",
          include: V2,
          exclude: ["**/node_modules/**"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "docker-long",
          include: LONG,
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
