// End-to-end suite: a real `weft` binary on a fresh SQLite data dir, driven by Debian's
// Chromium through playwright-core. One file at a time, steps in order, generous timeouts
// because the first code-tool run compiles the sandbox.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["e2e/**/*.e2e.ts"],
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
