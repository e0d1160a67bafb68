import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Two cores in CI: keep workers bounded so DynamoDB Local and the JVM are not starved.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit, integration, infra",
          include: ["test/{unit,integration,infra}/**/*.test.ts"],
          // DynamoDB Local, started once per project and stopped at its end (test/support/global-setup.ts).
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
      {
        // Each end-to-end file runs a whole local runtime (a JVM, a dozen servers, child processes
        // that the fault suite kills): on two cores, two of them beside the other suites starve one
        // another's start-up. They run after the rest, one file at a time.
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
