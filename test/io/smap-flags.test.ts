import { test } from "node:test";
import assert from "node:assert/strict";
import { getDataset, openHdf5, readAll } from "../../src/io/hdf5.js";
import {
  CAUSE,
  CAUSE_MASK,
  combinePassReasons,
  MISSING_CAUSES,
  passMissingReason,
  REJECTED_BY_QUALITY,
  surfaceCause,
  SURFACE_FLAG_NOT_IN_SWATH,
  type MissingCause,
} from "../../src/io/smap-flags.js";
import { Rng } from "../../src/util/random.js";
import { debianPython, realFile, runPythonJson } from "../helpers.js";

const HOSS = realFile("smap_formats", "hoss_shape_file_subset_reference.nc4");
const name = (code: number) => MISSING_CAUSES[(code & CAUSE_MASK) - 1];

test("surface_flag bits: each condition, bit 7 only with a successful freeze/thaw retrieval, 2047 and fill say nothing", () => {
  const bit = (b: number) => 1 << b;
  assert.equal(surfaceCause(bit(7), 0), "frozen_ground");
  assert.equal(surfaceCause(bit(7), 7), "frozen_ground", "qual 7 (not attempted): bit 3 clear, the F/T retrieval succeeded");
  assert.equal(surfaceCause(bit(7), 9), undefined, "Hawaii: bit 7 with qual bit 3 = not determined");
  assert.equal(surfaceCause(bit(7) | bit(10) | bit(2), 9), "dense_vegetation");
  assert.equal(surfaceCause(bit(8), 9), "frozen_ground", "model frozen ground needs no F/T retrieval");
  assert.equal(surfaceCause(bit(7), undefined), "frozen_ground", "no retrieval_qual_flag: the surface flag alone");
  assert.equal(surfaceCause(bit(5), 7), "snow_or_ice");
  assert.equal(surfaceCause(bit(6), 7), "snow_or_ice");
  assert.equal(surfaceCause(bit(4) | bit(10), 7), "precipitation");
  assert.equal(surfaceCause(bit(0), 7), "open_water");
  assert.equal(surfaceCause(bit(1) | bit(3), 7), "open_water");
  assert.equal(surfaceCause(bit(3), 7), "urban_area");
  assert.equal(surfaceCause(bit(10), 7), "dense_vegetation");
  assert.equal(surfaceCause(bit(9), 7), "mountainous_terrain");
  assert.equal(surfaceCause(bit(2), 7), "coastal_proximity");
  assert.equal(surfaceCause(bit(11), 7), undefined, "the nadir region is no reason");
  assert.equal(surfaceCause(0, 7), undefined);
  assert.equal(surfaceCause(SURFACE_FLAG_NOT_IN_SWATH, 7), undefined);
  assert.equal(surfaceCause(65534, 7), undefined);
});

test("a pass-cell's reason: values, range, the study's rejection with its condition, swath, failure, no flags", () => {
  assert.equal(passMissingReason("valid", 9, 640), CAUSE.observed);
  assert.equal(passMissingReason("out_of_range", 0, 0), CAUSE.outside_valid_range);
  // Hawaii's (9, 640): not recommended, mountainous, bit 7 not determined.
  assert.equal(passMissingReason("rejected", 9, 640), REJECTED_BY_QUALITY | CAUSE.mountainous_terrain);
  assert.equal(passMissingReason("rejected", 1, 0), REJECTED_BY_QUALITY | CAUSE.retrieval_failed_other);
  assert.equal(passMissingReason("fill", 7, 2047), CAUSE.not_in_swath);
  assert.equal(passMissingReason("fill", undefined, 2047), CAUSE.not_in_swath);
  assert.equal(passMissingReason("fill", 7, 128), CAUSE.frozen_ground);
  assert.equal(passMissingReason("fill", 5, 0), CAUSE.retrieval_failed_other, "failed without a surface condition (RFI among others)");
  assert.equal(passMissingReason("fill", 7, undefined), CAUSE.retrieval_failed_other);
  // Re-assembled granules: fill flags (or none) where the value is missing: unknown, never outside the swath.
  assert.equal(passMissingReason("fill", 65534, 65534), CAUSE.unknown);
  assert.equal(passMissingReason("fill", 65534, undefined), CAUSE.unknown);
  assert.equal(passMissingReason("fill", undefined, undefined), CAUSE.unknown);
});

test("a day's reason from its passes: a value wins, then the more informative reason, whatever the order", () => {
  const codes = [...MISSING_CAUSES.map((c) => CAUSE[c]), REJECTED_BY_QUALITY | CAUSE.dense_vegetation, REJECTED_BY_QUALITY | CAUSE.retrieval_failed_other];
  for (const a of codes)
    for (const b of codes) {
      const day = combinePassReasons(a, b);
      assert.equal(day, combinePassReasons(b, a), `${a} ${b} symmetric`);
      assert.ok(day === a || day === b);
      if (a === CAUSE.observed || b === CAUSE.observed) assert.equal(day, CAUSE.observed);
    }
  const pick = (a: MissingCause, b: MissingCause) => name(combinePassReasons(CAUSE[a], CAUSE[b]));
  assert.equal(pick("not_in_swath", "frozen_ground"), "frozen_ground");
  assert.equal(pick("unknown", "not_in_swath"), "not_in_swath");
  assert.equal(pick("no_granule", "unknown"), "unknown");
  assert.equal(pick("retrieval_failed_other", "dense_vegetation"), "dense_vegetation");
  assert.equal(combinePassReasons(CAUSE.frozen_ground, REJECTED_BY_QUALITY | CAUSE.retrieval_failed_other), REJECTED_BY_QUALITY | CAUSE.retrieval_failed_other);
  // Random pairs: the winner never ranks below the loser in the documented order.
  const rng = new Rng(5);
  for (let i = 0; i < 200; i++) {
    const a = codes[rng.int(codes.length)]!;
    const b = codes[rng.int(codes.length)]!;
    const c = codes[rng.int(codes.length)]!;
    assert.equal(combinePassReasons(combinePassReasons(a, b), c), combinePassReasons(a, combinePassReasons(b, c)), "associative");
  }
});

/**
 * Golden: the real SPL3SMP_E v6 granule SMAP_L3_SM_P_E_20150405_R19240_001 (HOSS subset, CONUS and
 * the north polar grid). Counts by cause computed independently with h5py + numpy from the bits.
 * Outside the swath the product writes 2047 (bits 0-10 set) exactly where its latitude is fill;
 * 65534 is the subsetter's shape mask.
 */
const HOSS_GOLDEN: Record<string, Partial<Record<MissingCause | "fill" | "none", number>>> = {
  "Soil_Moisture_Retrieval_Data_AM/surface_flag": {
    fill: 70986,
    not_in_swath: 49710,
    frozen_ground: 8845,
    snow_or_ice: 5377,
    precipitation: 1489,
    open_water: 3888,
    urban_area: 3644,
    dense_vegetation: 5355,
    mountainous_terrain: 175,
    none: 20411,
  },
  "Soil_Moisture_Retrieval_Data_PM/surface_flag_pm": {
    fill: 70986,
    not_in_swath: 40339,
    frozen_ground: 7487,
    snow_or_ice: 3804,
    precipitation: 1689,
    open_water: 4388,
    urban_area: 4293,
    dense_vegetation: 7166,
    mountainous_terrain: 3,
    none: 29725,
  },
  "Soil_Moisture_Retrieval_Data_Polar_AM/surface_flag": {
    fill: 86580,
    not_in_swath: 49216,
    frozen_ground: 41600,
    snow_or_ice: 3051,
    precipitation: 46,
    open_water: 2158,
    urban_area: 196,
    dense_vegetation: 1088,
    mountainous_terrain: 2,
    none: 1750,
  },
  "Soil_Moisture_Retrieval_Data_Polar_PM/surface_flag_pm": {
    fill: 86580,
    not_in_swath: 37755,
    frozen_ground: 49938,
    snow_or_ice: 1171,
    precipitation: 6,
    open_water: 2750,
    urban_area: 254,
    dense_vegetation: 1066,
    none: 6167,
  },
};

test("golden: surface_flag of a real SPL3SMP_E v6 granule (AM, PM, polar), the swath edge where latitude turns fill", (t) => {
  const h5 = openHdf5(HOSS);
  try {
    for (const [path, golden] of Object.entries(HOSS_GOLDEN)) {
      const flags = readAll(HOSS, getDataset(h5, path)) as Uint16Array;
      const lat = readAll(HOSS, getDataset(h5, path.replace("surface_flag", "latitude"))) as Float32Array;
      const [nrows, ncols] = getDataset(h5, path).shape!;
      // The subset has no soil moisture nor retrieval_qual_flag: the surface flag decoded alone.
      const causes = Array.from(flags, (f) => passMissingReason("fill", undefined, f));
      const counts: Record<string, number> = {};
      for (const f of flags) {
        const key = f === 65534 ? "fill" : f === SURFACE_FLAG_NOT_IN_SWATH ? "not_in_swath" : (surfaceCause(f, undefined) ?? "none");
        counts[key] = (counts[key] ?? 0) + 1;
      }
      assert.deepEqual(counts, golden, path);
      // Not in the swath <=> the latitude is fill, wherever the subset kept the cell.
      let edges = 0;
      for (let i = 0; i < nrows!; i++)
        for (let j = 0; j < ncols!; j++) {
          const k = i * ncols! + j;
          if (flags[k] === 65534) continue;
          assert.equal(causes[k] === CAUSE.not_in_swath, lat[k] === -9999, `${path} (${i}, ${j}): flag ${flags[k]}, latitude ${lat[k]}`);
          // A swath edge: an observed cell beside one outside the swath, on the same row.
          if (j + 1 < ncols! && flags[k + 1] !== 65534 && (causes[k] === CAUSE.not_in_swath) !== (causes[k + 1] === CAUSE.not_in_swath)) edges++;
        }
      assert.ok(edges > 100, `${path}: ${edges} swath edges`);
    }
  } finally {
    h5.close();
  }
  // The same bits through h5py (the reference HDF5 stack), on a window across the AM swath edge.
  const python = debianPython("h5py", "numpy");
  if (!python) {
    if (process.env.CI) assert.fail("CI must have /usr/bin/python3 with h5py");
    t.skip("no Debian python3-h5py here");
    return;
  }
  const spec = "Soil_Moisture_Retrieval_Data_AM/surface_flag:100:104:160:200";
  const oracle = runPythonJson(python, "h5py_read.py", [HOSS, spec])[spec];
  const file = openHdf5(HOSS);
  const ours = readAll(HOSS, getDataset(file, "Soil_Moisture_Retrieval_Data_AM/surface_flag")) as Uint16Array;
  file.close();
  const window = Array.from({ length: 4 }, (_, i) => Array.from({ length: 40 }, (_, j) => ours[(100 + i) * 620 + 160 + j]!)).flat();
  assert.deepEqual(oracle.values, window);
  assert.ok(window.includes(2047) && window.some((v: number) => v !== 2047 && v !== 65534), "the window crosses the swath edge");
});
