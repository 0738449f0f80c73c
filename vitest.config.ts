import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
    // Node 20 refuses the parser's JSON import without an import attribute; vite inlines it.
    server: { deps: { inline: ["@actions/workflow-parser"] } },
  },
});
