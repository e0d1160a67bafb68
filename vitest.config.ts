import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // DynamoDB Local, started once per run and stopped at the end (test/support/global-setup.ts).
    globalSetup: ["test/support/global-setup.ts"],
    // Two cores in CI: keep workers bounded so DynamoDB Local and the JVM are not starved.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
