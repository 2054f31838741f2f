/**
 * Pixels: colour ramps taken from vega's own schemes (so a raster and its vega legend agree),
 * PNG encoding of raster layers through fast-png (pure JavaScript), and PNG rendering of a
 * figure's SVG through resvg (@resvg/resvg-js: a maintained SVG renderer whose prebuilt binary
 * ships inside its npm package; nothing is downloaded at install, and it runs offline). Text in
 * the PNGs uses the system's DejaVu Sans, the font the report's SVGs ask for.
 */
import fs from "node:fs";
import path from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { encode } from "fast-png";
import * as vega from "vega";
import { writeFileAtomic as writeAtomic } from "../util/atomic-file.js";

export type Rgb = [number, number, number];

const rampCache = new Map<string, Uint8Array>();

/** A vega colour scheme ("viridis", "blueorange", ...) sampled at 256 steps, as RGB bytes. */
function ramp(scheme: string): Uint8Array {
  let table = rampCache.get(scheme);
  if (table) return table;
  const interpolate = vega.scheme(scheme) as ((t: number) => string) | undefined;
  if (typeof interpolate !== "function") throw new Error(`vega has no continuous colour scheme '${scheme}'`);
  table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const color = interpolate(i / 255);
    const rgb = /rgb\((\d+), (\d+), (\d+)\)/.exec(color);
    const hex = /#(..)(..)(..)/.exec(color);
    const parts = rgb ? rgb.slice(1, 4).map(Number) : hex!.slice(1, 4).map((h) => parseInt(h, 16));
    table.set(parts, 3 * i);
  }
  rampCache.set(scheme, table);
  return table;
}

/** The colour of t in [0, 1] (clamped) on a vega scheme. */
export function schemeColor(t: number, scheme = "viridis"): Rgb {
  const table = ramp(scheme);
  const i = Math.round(Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * 255);
  return [table[3 * i]!, table[3 * i + 1]!, table[3 * i + 2]!];
}

/** An RGBA image, transparent until painted. */
export class RgbaImage {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 4);
  }

  set(x: number, y: number, [r, g, b]: Rgb, alpha = 255): void {
    const k = (y * this.width + x) * 4;
    this.data[k] = r;
    this.data[k + 1] = g;
    this.data[k + 2] = b;
    this.data[k + 3] = alpha;
  }

  png(): Uint8Array {
    return encode({ width: this.width, height: this.height, data: this.data, channels: 4, depth: 8 });
  }
}

/** Renders an SVG (a figure) to PNG at `scale` device pixels per SVG pixel, on white. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const resvg = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}

/** Writes bytes to `file` atomically, its folder made first (util/atomic-file.ts: a full disk is one line and leaves no temporary). */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeAtomic(file, bytes);
}
