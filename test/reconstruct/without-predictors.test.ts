/**
 * The fill rule for pixel-days whose dynamic predictors are all missing: filled (own flag, own
 * sigma scale) only by a product model validated on such rows, not filled otherwise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Cube } from "../../src/cube/cube.js";
import { SOURCE_FLAGS } from "../../src/reconstruct/reconstruct.js";
import {
  calibrateWithoutDynamic,
  dynamicPredictorColumns,
  MIN_ROWS_WITHOUT_DYNAMIC,
  rowsWithoutDynamic,
  type WithoutDynamicCalibration,
} from "../../src/reconstruct/without-predictors.js";
import { REPO_ROOT, tempDir } from "../helpers.js";
import { smallChunkedCube } from "../test-world.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });

test("rows without dynamic predictors: found by the schema's dynamic group; their sigma scale puts 90 % of their errors inside the interval", () => {
  const cols = dynamicPredictorColumns({ groups: ["dynamic", "static", "dynamic", "ts"] });
  assert.deepEqual(cols, [0, 2]);
  const X = Float32Array.from([NaN, 1, NaN, 0.2, 0.3, 1, NaN, 0.2, NaN, 1, 5, 0.2]);
  assert.deepEqual([...rowsWithoutDynamic(X, 3, 4, cols)], [1, 0, 0]);
  assert.deepEqual([...rowsWithoutDynamic(X, 3, 4, [])], [0, 0, 0], "a cube without dynamic predictors has no such row");
  // 300 rows without predictors, errors 0.01 * (1..300) / 300 * 3 against sigma 0.01: 10 % of |e|/sigma above 2.7.
  const n = 400;
  const pred = new Float64Array(n);
  const y = new Float64Array(n);
  const sigma = new Float64Array(n).fill(0.01);
  const without = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    without[i] = i < 300 ? 1 : 0;
    pred[i] = i < 300 ? (0.03 * (i + 1)) / 300 : 0.005;
  }
  const c = calibrateWithoutDynamic(pred, y, sigma, without);
  assert.equal(c.rows, 300);
  assert.equal(c.otherRows, 100);
  assert.ok(Math.abs(c.rmseOthers! - 0.005) < 1e-12);
  assert.ok(c.fill && c.sigmaScale! > 1);
  let inside = 0;
  for (let i = 0; i < 300; i++) if (Math.abs(pred[i]!) <= 1.6448536269514722 * 0.01 * c.sigmaScale! + 1e-12) inside++;
  assert.ok(Math.abs(inside / 300 - 0.9) < 0.01, `${inside}`);
  const few = calibrateWithoutDynamic(pred.slice(0, 10), y.slice(0, 10), sigma.slice(0, 10), without.slice(0, 10));
  assert.ok(!few.fill && few.sigmaScale === null && 10 < MIN_ROWS_WITHOUT_DYNAMIC);
});

test("reconstruct: pixel-days without dynamic predictors get flag 8 and a scaled sigma from a model validated on such rows, flag 5 from one that never saw them", async () => {
  const dir = tempDir();
  const { cube: cubePath } = await smallChunkedCube(dir);
  // A copy of the cube whose predictors are all missing on days 0-31 (SMAP observed on them).
  const blanked = path.join(dir, "blanked.zarr");
  fs.cpSync(cubePath, blanked, { recursive: true });
  const cube = await Cube.open(blanked);
  const dynamic = cube.variables.filter((v) => v.kind === "dynamic" && !v.name.startsWith("soil_moisture"));
  assert.ok(dynamic.length >= 2);
  const P = cube.window.nrows * cube.window.ncols;
  for (const v of dynamic) await cube.writeBlock(v.name, 0, new Float32Array(32 * P).fill(NaN));

  const train = (cubeFile: string, out: string) => {
    const r = cli(
      "train",
      cubeFile,
      "--model",
      "xgb",
      "--xgb-rounds",
      "60",
      "--max-train-samples",
      "4000",
      "--calibration-share",
      "0.2",
      "--out",
      out,
      "--quiet",
    );
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(fs.readFileSync(path.join(out, "fit.json"), "utf8")).without_dynamic_predictors as WithoutDynamicCalibration;
  };
  const validated = train(blanked, path.join(dir, "m-blanked"));
  assert.ok(validated.fill && validated.rows >= MIN_ROWS_WITHOUT_DYNAMIC, JSON.stringify(validated));
  const unvalidated = train(cubePath, path.join(dir, "m-full"));
  assert.equal(unvalidated.rows, 0);
  assert.ok(!unvalidated.fill);

  const smap = await cube.readBlock("soil_moisture", 0, cube.days);
  const reconstructWith = async (model: string, out: string) => {
    const r = cli("reconstruct", blanked, "--model", model, "--out", out, "--quiet");
    assert.equal(r.status, 0, r.stderr);
    const product = await Cube.open(path.join(out, "product.zarr"));
    return {
      stdout: r.stdout,
      src: await product.readBlock("soil_moisture_source", 0, cube.days),
      sm: await product.readBlock("soil_moisture", 0, cube.days),
      unc: await product.readBlock("soil_moisture_uncertainty", 0, cube.days),
      attributes: product.attributes,
    };
  };
  const filled = await reconstructWith(path.join(dir, "m-blanked"), path.join(dir, "p-filled"));
  const left = await reconstructWith(path.join(dir, "m-full"), path.join(dir, "p-left"));
  let flagged = 0;
  for (let k = 0; k < smap.length; k++) {
    const t = Math.floor(k / P);
    if (filled.src[k] === SOURCE_FLAGS.not_filled_outside_land || !Number.isNaN(smap[k]!)) continue;
    if (t < 32) {
      flagged++;
      assert.equal(filled.src[k], SOURCE_FLAGS.reconstructed_without_dynamic_predictors);
      assert.ok(filled.sm[k]! >= 0.02 && filled.unc[k]! > 0, `${filled.sm[k]} ${filled.unc[k]}`);
      assert.equal(left.src[k], SOURCE_FLAGS.not_filled_missing_predictors);
      assert.ok(Number.isNaN(left.sm[k]!));
    } else {
      // With predictors: an ordinary reconstruction, or a frozen day's own flag (--frozen fill).
      assert.ok(filled.src[k] === SOURCE_FLAGS.reconstructed || filled.src[k] === SOURCE_FLAGS.reconstructed_frozen, `${filled.src[k]}`);
      assert.equal(left.src[k], filled.src[k]);
    }
  }
  assert.ok(flagged > 100, `${flagged}`);
  assert.match(filled.stdout, /, 0 not filled/);
  assert.doesNotMatch(left.stdout, /, 0 not filled/);
  assert.equal(JSON.parse(String(filled.attributes.without_dynamic_predictors)).sigmaScale, validated.sigmaScale);
  // The report says which days were filled without predictors, and how their uncertainty was set.
  const html = path.join(dir, "filled.html");
  const report = cli("report", path.join(dir, "p-filled"), "--out", html);
  assert.equal(report.status, 0, report.stderr);
  assert.match(
    fs.readFileSync(html, "utf8"),
    /Days without dynamic predictors<\/b> are filled \(flag 8, <code>reconstructed_without_dynamic_predictors<\/code>\)/,
  );
});
