/**
 * Time-series feature throughput (pixel-days/s): the 30 per-pixel features for every pixel and
 * the 5 context terms for every pixel-day of a SMAP-like series, by smapfill and by
 * reference/features.py (numpy/scipy) on the same array in the same run. Checksums prove both
 * computed the same values.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { contextFeatures, pixelFeatures } from "../src/features/timeseries.js";
import { Rng } from "../src/util/random.js";
import { writeNpy } from "../src/io/npy.js";

export async function benchFeatures(o: { sharedDir: string; pixels: number; days: number }) {
  const { pixels: P, days: D } = o;
  const rng = new Rng(5);
  // SMAP-like: seasonal signal + noise, about 35 % of days observed in runs.
  const series = new Float64Array(P * D).fill(NaN);
  for (let p = 0; p < P; p++) {
    const base = 0.1 + 0.25 * rng.uniform();
    for (let d = 0; d < D; d++)
      if (rng.uniform() < 0.35) series[p * D + d] = Math.min(0.5, Math.max(0.02, base + 0.05 * Math.sin((2 * Math.PI * d) / 365.25) + 0.02 * rng.normal()));
  }
  const pix = Int32Array.from({ length: P * D }, (_, i) => Math.floor(i / D));
  const day = Int32Array.from({ length: P * D }, (_, i) => i % D);
  const t0 = performance.now();
  const pf = pixelFeatures(series, P, D);
  const t1 = performance.now();
  const cf = contextFeatures(series, P, D, pix, day);
  const t2 = performance.now();
  const nansum = (a: Float64Array) => a.reduce((s, v) => (Number.isNaN(v) ? s : s + v), 0);
  const ours = { pixel_s: (t1 - t0) / 1000, context_s: (t2 - t1) / 1000, checksum_pixel: nansum(pf), checksum_context: nansum(cf) };

  const file = path.join(os.tmpdir(), `smapfill-features-${process.pid}.npy`);
  writeNpy(file, series, [P, D]);
  const run = spawnSync(
    "/usr/bin/python3",
    [path.join(path.dirname(new URL(import.meta.url).pathname), "..", "..", "bench", "python", "features_ref.py"), path.join(o.sharedDir, "reference"), file],
    { encoding: "utf8" },
  );
  fs.rmSync(file, { force: true });
  const reference = run.status === 0 ? JSON.parse(run.stdout) : { error: run.stderr.slice(-1500) };
  const pixelDays = P * D;
  const total = (r: { pixel_s: number; context_s: number }) => r.pixel_s + r.context_s;
  return {
    benchmark: "features",
    description: "30 per-pixel features for every pixel + 5 context terms for every pixel-day, float64",
    pixels: P,
    days: D,
    ours: { ...ours, pixel_days_per_s: pixelDays / total(ours) },
    reference: "error" in reference ? reference : { ...reference, pixel_days_per_s: pixelDays / total(reference) },
    same_values:
      "error" in reference
        ? undefined
        : Math.abs(reference.checksum_pixel - ours.checksum_pixel) <= 1e-6 * Math.abs(ours.checksum_pixel) &&
          Math.abs(reference.checksum_context - ours.checksum_context) <= 1e-6 * Math.abs(ours.checksum_context),
    speedup_ours_over_reference: "error" in reference ? undefined : total(reference) / total(ours),
  };
}
