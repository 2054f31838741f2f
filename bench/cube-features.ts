/**
 * Streamed time-series features of a large cube (issue 6: a China-sized cube, ~120 000 pixels x
 * 2 557 days, in "a minute or two" without holding the cube in memory): a SMAP-like cube of
 * rows x cols pixels and `days` days is written with the default chunks, then `writeCubeFeatures`
 * streams it tile by tile. Reports pixel-days/s (read + compute + write), the split of the time
 * and the peak resident memory against the size of the cube.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Cube } from "../src/cube/cube.js";
import { writeCubeFeatures } from "../src/features/cube-features.js";
import { Rng } from "../src/util/random.js";

export async function benchCubeFeatures(o: { rows: number; cols: number; days: number; context: boolean }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smapfill-cubefeat-"));
  const P = o.rows * o.cols;
  const cube = await Cube.create(path.join(dir, "c.zarr"), {
    resolution: "9km",
    window: { row0: 300, col0: 2800, nrows: o.rows, ncols: o.cols },
    start: "2016-01-01",
    days: o.days,
    variables: [{ name: "soil_moisture", kind: "dynamic", units: "m3 m-3", long_name: "SMAP" }],
  });
  const rng = new Rng(1);
  const base = Float32Array.from({ length: P }, () => 0.1 + 0.25 * rng.uniform());
  const t0 = performance.now();
  const block = 32;
  for (let t0d = 0; t0d < o.days; t0d += block) {
    const n = Math.min(block, o.days - t0d);
    const values = new Float32Array(n * P);
    for (let t = 0; t < n; t++) {
      const season = 0.05 * Math.sin((2 * Math.PI * (t0d + t)) / 365.25);
      for (let p = 0; p < P; p++) values[t * P + p] = rng.uniform() < 0.45 ? base[p]! + season + 0.02 * rng.normal() : NaN;
    }
    await cube.writeBlock("soil_moisture", t0d, values);
  }
  const writeCubeSeconds = (performance.now() - t0) / 1000;
  const rssBefore = process.memoryUsage().rss;
  const r = await writeCubeFeatures(cube, path.join(dir, "f.zarr"), { context: o.context });
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const pixelDays = P * o.days;
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    benchmark: "cube-features",
    description: `features of a ${o.rows} x ${o.cols}-pixel (${P}) x ${o.days}-day SMAP-like cube streamed tile by tile (chunks 128 x 128), ${o.context ? "with" : "without"} the per-pixel-day context terms, 1 thread`,
    pixels: P,
    days: o.days,
    pixel_days: pixelDays,
    cube_mb_float32: (pixelDays * 4) / 2 ** 20,
    tiles: r.tiles,
    seconds: r.seconds,
    read_s: r.readSeconds,
    compute_s: r.computeSeconds,
    write_s: r.writeSeconds,
    pixel_days_per_s: pixelDays / r.seconds,
    china_2557_days_estimate_s: (120000 * 2557) / (pixelDays / r.seconds),
    rss_before_mb: rssBefore / 2 ** 20,
    peak_rss_mb: peakRssMb,
    seconds_to_write_the_test_cube: writeCubeSeconds,
  };
}
