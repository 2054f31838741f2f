import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { contextFeatures, pixelFeatures, PIXEL_FEATURE_NAMES, CONTEXT_FEATURE_NAMES } from "../../src/features/timeseries.js";
import { readNpy } from "../../src/io/npy.js";
import { SHARED } from "../helpers.js";

const GOLDEN = path.join(SHARED, "reference", "golden");

function close(a: number, b: number | null): boolean {
  if (b === null) return Number.isNaN(a);
  return Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(b), 1e-12) || Math.abs(a - b) <= 1e-12;
}

test("golden: every per-pixel feature matches reference/features.py to 1e-6 relative (edge cases included)", () => {
  const expected = JSON.parse(fs.readFileSync(path.join(GOLDEN, "features_expected.json"), "utf8"));
  assert.deepEqual(expected.pixel_names, [...PIXEL_FEATURE_NAMES]);
  const series = readNpy(path.join(GOLDEN, "features_series.npy"));
  const weights = readNpy(path.join(GOLDEN, "features_weights.npy"));
  const doy = readNpy(path.join(GOLDEN, "features_doy.npy"));
  const [P, D] = series.shape as [number, number];
  const doyInt = Int32Array.from(doy.data as BigInt64Array, Number);
  const out = pixelFeatures(series.data as Float64Array, P, D, { weights: weights.data as Float64Array, doy: doyInt });
  let checked = 0;
  for (let p = 0; p < P; p++) {
    for (let f = 0; f < PIXEL_FEATURE_NAMES.length; f++) {
      const ours = out[p * 30 + f]!;
      const theirs = expected.pixel_features[p][f];
      assert.ok(close(ours, theirs), `pixel ${p} ${PIXEL_FEATURE_NAMES[f]}: ${ours} vs ${theirs}`);
      checked++;
    }
  }
  assert.equal(checked, 14 * 30);
});

test("golden: the context terms (climatology, previous/next retrieval) match for every query", () => {
  const expected = JSON.parse(fs.readFileSync(path.join(GOLDEN, "features_expected.json"), "utf8"));
  assert.deepEqual(expected.context_names, [...CONTEXT_FEATURE_NAMES]);
  const series = readNpy(path.join(GOLDEN, "features_series.npy"));
  const doy = Int32Array.from(readNpy(path.join(GOLDEN, "features_doy.npy")).data as BigInt64Array, Number);
  const [P, D] = series.shape as [number, number];
  const queries: [number, number][] = expected.queries;
  const out = contextFeatures(
    series.data as Float64Array,
    P,
    D,
    Int32Array.from(queries, (q) => q[0]),
    Int32Array.from(queries, (q) => q[1]),
    { doy },
  );
  queries.forEach((_, q) => {
    for (let k = 0; k < 5; k++)
      assert.ok(
        close(out[q * 5 + k]!, expected.context_features[q][k]),
        `query ${q} ${CONTEXT_FEATURE_NAMES[k]}: ${out[q * 5 + k]} vs ${expected.context_features[q][k]}`,
      );
  });
});
