/**
 * Coverage before and after reconstruction, from a product's source flags: the share of land
 * pixel-days with a value per day, per pixel and per land-cover class (the dominant
 * `landcover_class*` fraction of the input cube, where it has them), SMAP alone (before) and the
 * gap-free product (after), with the mean uncertainty of the reconstructed values per pixel.
 */
import type { Cube } from "../cube/cube.js";
import { SOURCE_FLAGS } from "./reconstruct.js";

export interface CoverageSummary {
  days: string[];
  /** Per day, share of land cells with a value. */
  perDay: { before: number[]; after: number[] };
  /** Per pixel (row-major), share of days with a value; NaN outside land. */
  perPixel: { before: Float32Array; after: Float32Array };
  /** Per pixel, mean uncertainty of its reconstructed values (NaN where none). */
  meanUncertainty: Float32Array;
  perClass: { class: string; pixels: number; before: number; after: number }[];
  overall: { landPixelDays: number; before: number; after: number };
}

export async function productCoverage(product: Cube, input?: Cube): Promise<CoverageSummary> {
  const { nrows, ncols } = product.window;
  const P = nrows * ncols;
  const T = product.days;
  const landDay = new Float64Array(T);
  const obsDay = new Float64Array(T);
  const filledDay = new Float64Array(T);
  const obsPix = new Float64Array(P);
  const filledPix = new Float64Array(P);
  const landPix = new Float64Array(P);
  const uncSum = new Float64Array(P);
  const uncN = new Float64Array(P);
  for (const tile of product.tiles()) {
    const src = await product.readBlock("soil_moisture_source", 0, T, tile);
    const unc = await product.readBlock("soil_moisture_uncertainty", 0, T, tile);
    const tp = tile.nrows * tile.ncols;
    for (let t = 0; t < T; t++) {
      for (let q = 0; q < tp; q++) {
        const s = src[t * tp + q]!;
        if (s === SOURCE_FLAGS.not_filled_outside_land) continue;
        const p = (tile.row0 + Math.floor(q / tile.ncols)) * ncols + tile.col0 + (q % tile.ncols);
        landDay[t]!++;
        landPix[p]!++;
        if (s <= 3) ((obsDay[t]! += 1), (obsPix[p]! += 1));
        const filled = s <= SOURCE_FLAGS.reconstructed || s === SOURCE_FLAGS.reconstructed_without_dynamic_predictors;
        if (filled) ((filledDay[t]! += 1), (filledPix[p]! += 1));
        const u = unc[t * tp + q]!;
        if (filled && s > 3 && !Number.isNaN(u)) ((uncSum[p]! += u), (uncN[p]! += 1));
      }
    }
  }
  const share = (a: number, b: number) => (b > 0 ? a / b : NaN);
  const perClass: CoverageSummary["perClass"] = [];
  const classes = input?.variables.filter((v) => v.kind === "static" && v.name.startsWith("landcover_class")) ?? [];
  if (input && classes.length) {
    const fractions = await Promise.all(classes.map((c) => input.readStatic(c.name)));
    const dominant = Int32Array.from({ length: P }, (_, p) => {
      let best = -1;
      let bestV = -Infinity;
      fractions.forEach((f, k) => {
        if (f[p]! > bestV) ((bestV = f[p]!), (best = k));
      });
      return best;
    });
    classes.forEach((c, k) => {
      let [pixels, land, obs, filled] = [0, 0, 0, 0];
      for (let p = 0; p < P; p++) {
        if (dominant[p] !== k || !landPix[p]) continue;
        pixels++;
        land += landPix[p]!;
        obs += obsPix[p]!;
        filled += filledPix[p]!;
      }
      if (pixels) perClass.push({ class: c.name.replace(/^landcover_/, ""), pixels, before: share(obs, land), after: share(filled, land) });
    });
  }
  const land = landDay.reduce((a, b) => a + b, 0);
  return {
    days: product.dates(),
    perDay: { before: Array.from(obsDay, (v, t) => share(v, landDay[t]!)), after: Array.from(filledDay, (v, t) => share(v, landDay[t]!)) },
    perPixel: {
      before: Float32Array.from(obsPix, (v, p) => share(v, landPix[p]!)),
      after: Float32Array.from(filledPix, (v, p) => share(v, landPix[p]!)),
    },
    meanUncertainty: Float32Array.from(uncSum, (v, p) => share(v, uncN[p]!)),
    perClass,
    overall: {
      landPixelDays: land,
      before: share(
        obsDay.reduce((a, b) => a + b, 0),
        land,
      ),
      after: share(
        filledDay.reduce((a, b) => a + b, 0),
        land,
      ),
    },
  };
}

/**
 * One pixel's series over the product's period: SMAP (the values flagged observed), the product
 * (SMAP or reconstructed; null where not filled) and the reconstructed values' uncertainty.
 */
export async function productPixelSeries(
  product: Cube,
  p: number,
): Promise<{ smap: (number | null)[]; estimate: (number | null)[]; sigma: (number | null)[] }> {
  const w = product.window;
  const tile = { row0: Math.floor(p / w.ncols), col0: p % w.ncols, nrows: 1, ncols: 1 };
  const [sm, unc, src] = await Promise.all(
    ["soil_moisture", "soil_moisture_uncertainty", "soil_moisture_source"].map((v) => product.readBlock(v, 0, product.days, tile)),
  );
  const list = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
  return {
    smap: Array.from(sm!, (v, t) => (src![t]! <= 3 && Number.isFinite(v) ? v : null)),
    estimate: list(sm!),
    sigma: list(unc!),
  };
}
