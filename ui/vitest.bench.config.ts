import { defineConfig } from "vitest/config";

// `bench/ui`: the web UI benchmarks (a measurement run, not tests).
export default defineConfig({
  test: { environment: "node", include: ["bench/**/*.bench.ts"], testTimeout: 900_000, hookTimeout: 300_000 },
});
