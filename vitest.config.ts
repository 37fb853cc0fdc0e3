import { defineConfig } from "vitest/config";

// Two projects: fast unit tests (no Docker, no network) and integration tests that need dockerd.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "frontend/app/**/*.test.ts", "frontend/app/**/*.test.tsx", "scripts/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/*.docker.test.ts"],
          environment: "node",
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "docker",
          include: ["src/**/*.docker.test.ts", "test/**/*.test.ts"],
          exclude: ["**/node_modules/**", "test/e2e/**"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
