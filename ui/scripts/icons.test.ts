// @vitest-environment node
// The icons in public/ are the ones scripts/icons.ts draws (pixel for pixel,
// so another zlib cannot make them stale), and the manifest names them with
// their real sizes. CTL_UPDATE_GENERATED=1 npm test rewrites them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { inflateSync } from "node:zlib";
import { expect, test } from "vitest";
import { generated, ICONS } from "./icons";

const PUBLIC = join(import.meta.dirname, "../public");

/** The header and the inflated pixel rows of a PNG file. */
function decode(bytes: Uint8Array): { width: number; height: number; colour: number; rows: Buffer } {
  const buf = Buffer.from(bytes);
  expect(buf.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  let at = 8;
  let head: Buffer | undefined;
  const data: Buffer[] = [];
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString("latin1", at + 4, at + 8);
    const body = buf.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") head = body;
    if (type === "IDAT") data.push(body);
    at += 12 + len;
  }
  expect(head, "IHDR").toBeDefined();
  return { width: head!.readUInt32BE(0), height: head!.readUInt32BE(4), colour: head![9]!, rows: inflateSync(Buffer.concat(data)) };
}

test("the committed icons are the ones the generator draws", () => {
  for (const [file, bytes] of generated()) {
    const path = join(PUBLIC, file);
    if (process.env.CTL_UPDATE_GENERATED) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
    }
    const hint = `ui/public/${file} is stale: run CTL_UPDATE_GENERATED=1 npm --prefix ui test`;
    expect(existsSync(path), hint).toBe(true);
    const committed = readFileSync(path);
    if (file.endsWith(".png")) {
      const [want, got] = [decode(bytes), decode(committed)];
      expect({ ...got, rows: undefined }, hint).toEqual({ ...want, rows: undefined });
      expect(got.rows.equals(want.rows), hint).toBe(true);
    } else {
      expect(committed.toString("utf8"), hint).toBe(Buffer.from(bytes).toString("utf8"));
    }
  }
}, 60_000);

test("the manifest installs the app: standalone, the theme's colours, icons that exist at their sizes", () => {
  const m = JSON.parse(readFileSync(join(PUBLIC, "manifest.webmanifest"), "utf8")) as {
    name: string;
    start_url: string;
    scope: string;
    display: string;
    background_color: string;
    theme_color: string;
    icons: { src: string; sizes: string; type: string; purpose?: string }[];
  };
  expect(m.name).toBe("ctl");
  expect(m.display).toBe("standalone");
  expect(m.start_url).toBe("/");
  expect(m.scope).toBe("/");
  const css = readFileSync(join(import.meta.dirname, "../src/styles.css"), "utf8");
  expect(css).toContain(`--bg: ${m.background_color};`);
  expect(css).toContain(`--panel: ${m.theme_color};`);
  for (const icon of m.icons) {
    const path = join(PUBLIC, icon.src);
    expect(existsSync(path), icon.src).toBe(true);
    if (icon.type !== "image/png") continue;
    const { width, height, colour } = decode(readFileSync(path));
    expect(`${width}x${height}`, icon.src).toBe(icon.sizes);
    expect(colour, `${icon.src} is RGBA`).toBe(6);
  }
  // Chromium installs an app with a 192 and a 512 px icon; Android masks a maskable one.
  const sizes = m.icons.filter((i) => (i.purpose ?? "any").includes("any")).map((i) => i.sizes);
  expect(sizes).toEqual(expect.arrayContaining(["192x192", "512x512"]));
  expect(m.icons.some((i) => i.purpose === "maskable")).toBe(true);
  // Every generated PNG is used somewhere.
  const html = readFileSync(join(import.meta.dirname, "../index.html"), "utf8");
  for (const { file } of ICONS) expect(m.icons.some((i) => i.src === `/${file}`) || html.includes(`/${file}`), file).toBe(true);
});
