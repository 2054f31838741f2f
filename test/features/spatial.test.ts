/**
 * Spatial context features: equal to a direct computation on random grids; out-of-fold, values
 * inside a training row's hole (and its own value) change none of its spatial inputs; a
 * reconstruction tile sees its neighbours beyond its edge (the same values as one big tile).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { FeatureBuilder, type SampleArrays } from "../../src/features/samples.js";
import { neighbourClimatology, spatialFeatures, SPATIAL_FEATURE_NAMES } from "../../src/features/spatial.js";
import { mixedGaps, Role } from "../../src/eval/splits.js";
import { Cube } from "../../src/cube/cube.js";
import { ingestStudy } from "../../src/cube/ingest-study.js";
import { loadStudy } from "../../src/config/study.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { writeWorldStudy } from "../../src/synth/world-study.js";
import { WORLD_PRESETS } from "../../src/synth/world.js";
import { Rng } from "../../src/util/random.js";
import { REPO_ROOT, tempDir } from "../helpers.js";

const [nrows, ncols, T] = [12, 14, 40];
const P = nrows * ncols;

function grid(seed: number, share = 0.5): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: T * P }, (_, k) => (rng.uniform() < share ? 0.1 + 0.3 * rng.uniform() + 0.001 * (k % P) : NaN));
}

/** The features by their definition, one neighbour at a time. */
function direct(values: Float32Array, clim: Float32Array, r: number, c: number, t: number, hole: number): number[] {
  const out: number[] = [];
  const ring = (R: number, days: number[]) => {
    let [n, s, ws, wt, as, an] = [0, 0, 0, 0, 0, 0];
    for (const d of days) {
      if (d < 0 || d >= T) continue;
      for (let dr = -R; dr <= R; dr++)
        for (let dc = -R; dc <= R; dc++) {
          const cheb = Math.max(Math.abs(dr), Math.abs(dc));
          const [rr, cc] = [r + dr, c + dc];
          if (cheb === 0 || cheb < hole || rr < 0 || cc < 0 || rr >= nrows || cc >= ncols) continue;
          const v = values[d * P + rr * ncols + cc]!;
          if (Number.isNaN(v)) continue;
          const w = 1 / Math.hypot(dr, dc);
          (n++, (s += v), (ws += w * v), (wt += w));
          const m = clim[d * P + rr * ncols + cc]!;
          if (!Number.isNaN(m)) ((as += v - m), an++);
        }
    }
    out.push(n, n ? s / n : NaN, wt ? ws / wt : NaN, an ? as / an : NaN);
  };
  ring(1, [t]);
  ring(3, [t]);
  ring(7, [t]);
  ring(3, [t - 1, t + 1]);
  return out;
}

test("spatial features equal their definition (rings 3x3, 7x7, 15x15, the day before and after, holes, grid edges)", () => {
  const values = grid(1);
  const clim = neighbourClimatology(values, P, T);
  const rng = new Rng(2);
  const n = 300;
  const r = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * nrows));
  const c = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * ncols));
  const t = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * T));
  const hole = Int32Array.from({ length: n }, () => 1 + Math.floor(rng.uniform() * 5));
  const got = spatialFeatures({ values, nrows, ncols, T, rowOffset: 0, colOffset: 0 }, clim, r, c, t, hole);
  const F = SPATIAL_FEATURE_NAMES.length;
  for (let i = 0; i < n; i++) {
    const want = direct(values, clim, r[i]!, c[i]!, t[i]!, hole[i]!);
    for (let f = 0; f < F; f++) {
      const [a, b] = [got[i * F + f]!, want[f]!];
      assert.ok(Number.isNaN(b) ? Number.isNaN(a) : Math.abs(a - b) < 1e-9, `row ${i} ${SPATIAL_FEATURE_NAMES[f]}: ${a} vs ${b}`);
    }
  }
  // The climatology is each cell's +-15-day mean.
  const [p, d] = [37, 20];
  const window = Array.from({ length: 31 }, (_, j) => values[(d - 15 + j) * P + p]!).filter((v) => !Number.isNaN(v));
  assert.ok(Math.abs(clim[d * P + p]! - window.reduce((a, b) => a + b, 0) / window.length) < 1e-6);
});

test("out-of-fold spatial features: a training row's own value and every value inside its hole change none of its spatial inputs", () => {
  const smap = grid(3, 0.7);
  const a: SampleArrays = { P, T, nrows, ncols, startDay: 18000, smap, dynamic: new Map(), static: new Map(), units: new Map() };
  // The product model's design: training rows imitate its validation and calibration gaps and SMAP's own.
  const roles = mixedGaps(smap, nrows, ncols, { validation: 0.1, test: 0, calibration: 0.2 }, 3);
  const o = { tsMode: "out-of-fold" as const, seed: 5, spatial: true };
  const b = new FeatureBuilder(a, roles, o);
  const cols = b.names.flatMap((n, j) => (n.startsWith("sp_") ? [j] : []));
  assert.equal(cols.length, SPATIAL_FEATURE_NAMES.length);
  assert.deepEqual(
    cols.map((j) => b.groups[j]),
    cols.map(() => "spatial"),
  );
  let holes = 0;
  for (const k of [...roles.keys()].filter((kk) => roles[kk] === 0).slice(0, 80)) {
    const [p, t] = [k % P, Math.floor(k / P)];
    const h = b.holeOf(p, t);
    if (h > 1) holes++;
    const [r0, c0] = [Math.floor(p / ncols), p % ncols];
    // Its own value, and its neighbours closer than the hole on the three days it looks at.
    const moved = Float32Array.from(smap, (v, kk) => {
      const [q, d] = [kk % P, Math.floor(kk / P)];
      const cheb = Math.max(Math.abs(Math.floor(q / ncols) - r0), Math.abs((q % ncols) - c0));
      return Math.abs(d - t) <= 1 && cheb < h ? v + 0.2 : v;
    });
    const x0 = b.rows(Int32Array.of(p), Int32Array.of(t));
    const x1 = new FeatureBuilder({ ...a, smap: moved }, roles, o).rows(Int32Array.of(p), Int32Array.of(t));
    for (const j of cols) assert.ok(Object.is(x0[j], x1[j]), `${b.names[j]} of row ${k} (hole ${h})`);
  }
  assert.ok(holes > 20, `${holes} of 80 training rows have a hole beyond their own cell`);
  // Held-out rows get no hole: they see every training value around them.
  const test_ = [...roles.keys()].find((kk) => roles[kk] === Role.Calibration)!;
  assert.equal(b.holeOf(test_ % P, Math.floor(test_ / P)), 1);
});

test("a spatial product model: reconstruction tiles see beyond their edges (the same product as one tile)", async () => {
  const dir = tempDir();
  const config = { ...WORLD_PRESETS.test, days: 32 };
  await writeWorld(config, path.join(dir, "w"));
  const cubes: string[] = [];
  for (const [name, chunks] of [
    ["tiled", "chunks: { time: 16, y: 8, x: 8 }\n"],
    ["whole", "chunks: { time: 16, y: 64, x: 64 }\n"],
  ] as const) {
    const study = writeWorldStudy(path.join(dir, "w"), config, `../${name}.zarr`);
    fs.writeFileSync(study.replace(/study\.yaml$/, `${name}.yaml`), fs.readFileSync(study, "utf8") + chunks);
    cubes.push((await ingestStudy(loadStudy(study.replace(/study\.yaml$/, `${name}.yaml`)), { quiet: true })).output);
  }
  const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args, "--quiet"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  };
  const model = path.join(dir, "model");
  run("train", cubes[0]!, "--model", "xgb", "--out", model, "--spatial", "--xgb-rounds", "30", "--max-train-samples", "3000");
  assert.ok(JSON.parse(fs.readFileSync(path.join(model, "schema.json"), "utf8")).groups.includes("spatial"));
  run("reconstruct", cubes[0]!, "--model", model, "--out", path.join(dir, "p-tiled"));
  run("reconstruct", cubes[1]!, "--model", model, "--out", path.join(dir, "p-whole"));
  const tiled = await Cube.open(path.join(dir, "p-tiled", "product.zarr"));
  const whole = await Cube.open(path.join(dir, "p-whole", "product.zarr"));
  assert.ok(tiled.tiles().length > 1 && whole.tiles().length === 1);
  for (const v of ["soil_moisture", "soil_moisture_uncertainty", "soil_moisture_source"])
    assert.deepEqual(await tiled.readBlock(v, 0, tiled.days), await whole.readBlock(v, 0, whole.days), v);
});
