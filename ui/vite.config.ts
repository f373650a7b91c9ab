import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import { shellWorker, SW_ENTRY } from "./vite.shell";

// `npm run dev` proxies the API to a running `ctl up` (CTL_URL, default :8000).
const api = process.env.CTL_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), shellWorker()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
    rolldownOptions: {
      // The service worker is built beside the app, at the root (its scope is the whole UI).
      input: { index: "index.html", sw: SW_ENTRY },
      output: { entryFileNames: (chunk) => (chunk.name === "sw" ? "sw.js" : "assets/[name]-[hash].js") },
    },
  },
  server: {
    proxy: {
      "/api": { target: api, changeOrigin: false },
      "/login": { target: api, changeOrigin: false },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}", "scripts/**/*.test.ts"],
    setupFiles: ["src/test-setup.ts"],
  },
});
