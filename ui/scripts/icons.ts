// The app's icons, drawn from code so they are reproducible and match the
// theme: a phosphor-green prompt (a chevron and a block cursor, with a soft
// glow and faint scanlines) on the near-black of the UI. `icons.test.ts`
// checks the committed files in public/ against this (and rewrites them
// with CTL_UPDATE_GENERATED=1).
import { deflateSync } from "node:zlib";

const BG = [0x07, 0x0a, 0x07];
const LINE = [0x1d, 0x2b, 0x1d];
const GREEN = [0x5d, 0xff, 0x86];

export interface Icon {
  /** Path under ui/public/. */
  file: string;
  size: number;
  /** `maskable`: full bleed, the glyph inside the safe zone; `any`: a rounded tile on transparency. */
  kind: "any" | "maskable";
}

export const ICONS: Icon[] = [
  { file: "icons/icon-192.png", size: 192, kind: "any" },
  { file: "icons/icon-512.png", size: 512, kind: "any" },
  { file: "icons/maskable-512.png", size: 512, kind: "maskable" },
  // iOS masks it itself and wants no transparency.
  { file: "icons/apple-touch-icon.png", size: 180, kind: "maskable" },
];

// The glyph in unit coordinates (the tile is 0..1 both ways).
const STROKE = 0.085;
const CHEVRON: [number, number][] = [
  [0.27, 0.33],
  [0.45, 0.5],
  [0.27, 0.67],
];
const CURSOR = { x0: 0.53, y0: 0.585, x1: 0.76, y1: 0.67 };
const TILE_RADIUS = 0.2;

/** Distance from p to the segment a-b. */
function segment(px: number, py: number, [ax, ay]: [number, number], [bx, by]: [number, number]): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  const [ex, ey] = [px - ax - t * dx, py - ay - t * dy];
  return Math.sqrt(ex * ex + ey * ey);
}

function inGlyph(x: number, y: number, scale: number): boolean {
  // Scale about the centre (a maskable icon keeps its glyph in the middle 60 %).
  const u = 0.5 + (x - 0.5) / scale;
  const v = 0.5 + (y - 0.5) / scale;
  if (u >= CURSOR.x0 && u <= CURSOR.x1 && v >= CURSOR.y0 && v <= CURSOR.y1) return true;
  return segment(u, v, CHEVRON[0]!, CHEVRON[1]!) <= STROKE / 2 || segment(u, v, CHEVRON[1]!, CHEVRON[2]!) <= STROKE / 2;
}

function inTile(x: number, y: number, inset: number): boolean {
  const r = TILE_RADIUS;
  const lo = inset + r;
  const hi = 1 - inset - r;
  const cx = Math.max(lo, Math.min(hi, x));
  const cy = Math.max(lo, Math.min(hi, y));
  return Math.sqrt((x - cx) ** 2 + (y - cy) ** 2) <= r;
}

/** Coverage (0..1) of `inside` over one pixel: 4 × 4 samples where the pixel's corners disagree (an edge), else 0 or 1. */
function coverage(size: number, px: number, py: number, inside: (x: number, y: number) => boolean): number {
  const corners = [inside(px / size, py / size), inside((px + 1) / size, py / size), inside(px / size, (py + 1) / size), inside((px + 1) / size, (py + 1) / size)];
  if (corners.every((c) => c === corners[0])) return corners[0] ? 1 : 0;
  let n = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (inside((px + (i + 0.5) / 4) / size, (py + (j + 0.5) / 4) / size)) n++;
  return n / 16;
}

/** A separable box blur, three passes (close to a Gaussian). */
function blur(src: Float32Array, size: number, radius: number): Float32Array {
  let a = src;
  for (let pass = 0; pass < 3; pass++) {
    for (const horizontal of [true, false]) {
      const out = new Float32Array(size * size);
      for (let line = 0; line < size; line++) {
        let sum = 0;
        const at = (k: number) => {
          const c = Math.max(0, Math.min(size - 1, k));
          return horizontal ? a[line * size + c]! : a[c * size + line]!;
        };
        for (let k = -radius; k <= radius; k++) sum += at(k);
        for (let k = 0; k < size; k++) {
          out[horizontal ? line * size + k : k * size + line] = sum / (2 * radius + 1);
          sum += at(k + radius + 1) - at(k - radius);
        }
      }
      a = out;
    }
  }
  return a;
}

/** The icon's pixels, RGBA. */
export function draw(icon: Icon): Uint8Array {
  const { size, kind } = icon;
  const scale = kind === "maskable" ? 0.72 : 0.86;
  const inset = kind === "maskable" ? 0 : 0.04;
  const glyph = new Float32Array(size * size);
  const tile = new Float32Array(size * size);
  const edge = new Float32Array(size * size);
  const border = 0.012;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      glyph[i] = coverage(size, x, y, (u, v) => inGlyph(u, v, scale));
      tile[i] = kind === "maskable" ? 1 : coverage(size, x, y, (u, v) => inTile(u, v, inset));
      edge[i] = kind === "maskable" ? 0 : tile[i]! - coverage(size, x, y, (u, v) => inTile(u, v, inset + border));
    }
  }
  const glow = blur(glyph, size, Math.max(1, Math.round(size * 0.03)));
  const out = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    // Faint scanlines, one every 1.5 % of the height.
    const scan = Math.floor(y / Math.max(2, Math.round(size * 0.0075))) % 2 === 0 ? 1 : 0.82;
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const g = Math.min(1, glow[i]! * 0.55);
      const px = [0, 1, 2].map((c) => {
        let v = BG[c]! * scan;
        v += (GREEN[c]! - v) * g * 0.5;
        v += (LINE[c]! * 2 - v) * edge[i]!;
        v += (GREEN[c]! - v) * glyph[i]!;
        return Math.round(Math.max(0, Math.min(255, v)));
      });
      out.set([px[0]!, px[1]!, px[2]!, Math.round(255 * tile[i]!)], i * 4);
    }
  }
  return out;
}

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG file of RGBA pixels (8 bits a channel, no interlace). */
export function png(rgba: Uint8Array, size: number): Uint8Array {
  const header = new Uint8Array(13);
  const h = new DataView(header.buffer);
  h.setUint32(0, size);
  h.setUint32(4, size);
  header.set([8, 6, 0, 0, 0], 8);
  const raw = new Uint8Array(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) raw.set(rgba.subarray(y * size * 4, (y + 1) * size * 4), y * (size * 4 + 1) + 1);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The same drawing as a small SVG (the favicon). */
export function svg(): string {
  const s = 0.86;
  const t = (v: number) => +(0.5 + (v - 0.5) * s).toFixed(4) * 64;
  const r = (v: number) => +v.toFixed(2);
  const [a, b, c] = CHEVRON;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">`,
    `<rect x="2.56" y="2.56" width="58.88" height="58.88" rx="12.8" fill="#070a07" stroke="#3a563a" stroke-width="1.5"/>`,
    `<path d="M${r(t(a![0]))} ${r(t(a![1]))}L${r(t(b![0]))} ${r(t(b![1]))}L${r(t(c![0]))} ${r(t(c![1]))}" fill="none" stroke="#5dff86" stroke-width="${r(STROKE * s * 64)}" stroke-linecap="round" stroke-linejoin="round"/>`,
    `<rect x="${r(t(CURSOR.x0))}" y="${r(t(CURSOR.y0))}" width="${r(t(CURSOR.x1) - t(CURSOR.x0))}" height="${r(t(CURSOR.y1) - t(CURSOR.y0))}" fill="#5dff86"/>`,
    `</svg>`,
    "",
  ].join("\n");
}

/** Every generated file: path under ui/public/ → bytes. */
export function generated(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const icon of ICONS) out.set(icon.file, png(draw(icon), icon.size));
  out.set("icon.svg", new TextEncoder().encode(svg()));
  return out;
}
