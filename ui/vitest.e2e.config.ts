import { defineConfig } from "vitest/config";

// Browser tests: a real `ctl up` (CTL_BIN) and Debian's Chromium.
export default defineConfig({
  test: {
    environment: "node",
    include: ["e2e/**/*.e2e.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: "forks",
  },
});
