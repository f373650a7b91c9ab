// Builds the service worker (src/sw/worker.ts) to dist/sw.js and writes into
// it the app shell it stores (every built file a page may need, as URL
// paths) and a version: a hash of those files, so any change to the UI is a
// new worker that replaces the old shell.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { Plugin } from "vite";

export const SW_ENTRY = "src/sw/worker.ts";

/** Files a browser never needs from the shell: the worker itself, the page as a file, old font formats. */
const skip = (path: string) => path === "/sw.js" || path === "/index.html" || path.endsWith(".woff");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(join(dir, d.name)) : [join(dir, d.name)],
  );
}

export function shellWorker(): Plugin {
  let outDir = "dist";
  return {
    name: "ctl-shell-worker",
    apply: "build",
    configResolved(c) {
      outDir = c.build.outDir;
    },
    closeBundle() {
      const swPath = join(outDir, "sw.js");
      const all = files(outDir)
        .map((f) => ({ file: f, path: `/${relative(outDir, f).split(sep).join("/")}` }))
        .sort((a, b) => (a.path < b.path ? -1 : 1));
      const hash = createHash("sha256");
      for (const { file, path } of all) {
        if (path === "/sw.js") continue;
        hash.update(path).update("\0").update(readFileSync(file)).update("\0");
      }
      const shell = ["/", ...all.map((f) => f.path).filter((p) => !skip(p))];
      const code = readFileSync(swPath, "utf8");
      if (!code.includes("__CTL_SHELL__") || !code.includes("__CTL_VERSION__")) {
        throw new Error("sw.js lost its placeholders: did the minifier rename them?");
      }
      if (/^\s*(import|export)\b/m.test(code)) {
        throw new Error("sw.js must be one classic script: keep app code out of src/sw/");
      }
      writeFileSync(
        swPath,
        code.replaceAll("__CTL_SHELL__", JSON.stringify(shell)).replaceAll("__CTL_VERSION__", JSON.stringify(hash.digest("hex").slice(0, 16))),
      );
    },
  };
}
