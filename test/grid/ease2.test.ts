import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { Ease2Grid, latLonToXY, xyToLatLon, MAP_ORIGIN_X_M, MAP_ORIGIN_Y_M, RESOLUTIONS } from "../../src/grid/ease2.js";
import { openHdf5, getDataset, readAll } from "../../src/io/hdf5.js";
import { realFile } from "../helpers.js";
import { mulberry32 } from "../../src/util/random.js";

function readRawDoubles(file: string): Float64Array {
  const buf = fs.readFileSync(file);
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

test("grid sizes and corners follow NSIDC's definition", () => {
  const expected: Record<string, [number, number, number]> = {
    "36km": [406, 964, 36032.220840584],
    "9km": [1624, 3856, 9008.055210146],
    "3km": [4872, 11568, 3002.6850700487],
    "1km": [14616, 34704, 1000.89502334956],
  };
  for (const res of RESOLUTIONS) {
    const g = Ease2Grid.of(res);
    const [nrows, ncols, cell] = expected[res]!;
    assert.equal(g.nrows, nrows);
    assert.equal(g.ncols, ncols);
    assert.ok(Math.abs(g.cellSize - cell) < 1e-6, `${res} cell ${g.cellSize}`);
    assert.ok(Math.abs(g.ncols * g.cellSize + 2 * MAP_ORIGIN_X_M) < 1e-6);
  }
  assert.ok(Math.abs(MAP_ORIGIN_X_M - -17367530.4451615) < 1e-6);
  assert.ok(Math.abs(MAP_ORIGIN_Y_M - 7314540.8306386) < 1e-6);
  assert.equal(Ease2Grid.of("9km").name, "EASE2_M09km");
  assert.equal(Ease2Grid.fromShape(1624, 3856)?.resolution, "9km");
  assert.equal(Ease2Grid.fromShape(100, 100), undefined);
});

test("36 km cell centres match NSIDC's official grid to < 1e-5 deg, and map back to their cells", () => {
  const lats = readRawDoubles(realFile("grids", "EASE2_M36km.lats.964x406x1.double"));
  const lons = readRawDoubles(realFile("grids", "EASE2_M36km.lons.964x406x1.double"));
  const g = Ease2Grid.of("36km");
  assert.equal(lats.length, g.nrows * g.ncols);
  let maxLat = 0;
  let maxLon = 0;
  let mismatches = 0;
  for (let r = 0; r < g.nrows; r++) {
    const rowLat = g.rowLatitude(r);
    for (let c = 0; c < g.ncols; c++) {
      const i = r * g.ncols + c;
      maxLat = Math.max(maxLat, Math.abs(rowLat - lats[i]!));
      maxLon = Math.max(maxLon, Math.abs(g.colLongitude(c) - lons[i]!));
      const rc = g.latLonToRowCol(lats[i]!, lons[i]!);
      if (!rc || rc[0] !== r || rc[1] !== c) mismatches++;
    }
  }
  assert.ok(maxLat < 1e-5, `max latitude error ${maxLat}`);
  assert.ok(maxLon < 1e-5, `max longitude error ${maxLon}`);
  assert.equal(mismatches, 0);
});

test("9 km centres match real SPL3SMP_E latitude/longitude (float32) of a CONUS subset", () => {
  // HOSS subset of SMAP_L3_SM_P_E_20150405: rows 195-468, cols 590-1209 of the 9 km grid.
  const file = realFile("smap_formats", "hoss_shape_file_subset_reference.nc4");
  const h5 = openHdf5(file);
  const lat = readAll(file, getDataset(h5, "Soil_Moisture_Retrieval_Data_AM/latitude"));
  const lon = readAll(file, getDataset(h5, "Soil_Moisture_Retrieval_Data_AM/longitude"));
  h5.close();
  const g = Ease2Grid.of("9km");
  let checked = 0;
  let maxErr = 0;
  for (let i = 0; i < 274; i++) {
    for (let j = 0; j < 620; j++) {
      const k = i * 620 + j;
      if (lat[k] === -9999) continue;
      checked++;
      maxErr = Math.max(maxErr, Math.abs(g.rowLatitude(195 + i) - Number(lat[k])), Math.abs(g.colLongitude(590 + j) - Number(lon[k])));
    }
  }
  assert.ok(checked > 10000, `only ${checked} valid cells`);
  assert.ok(maxErr < 1e-5, `max error ${maxErr} deg`);
});

test("9 km projected x/y match the real SPL4SMAU x/y and its cell_column", () => {
  // SPL4SMAU Vv4030 was made with the earlier 9 km cell size 9008.05498 m (ours, NSIDC's current
  // definition: 9008.05521 m): positions agree to < 1 m (1e-4 cell) and every cell index exactly.
  const file = realFile("smap_formats", "SMAP_L4_SM_aup_input.h5");
  const h5 = openHdf5(file);
  const x = readAll(file, getDataset(h5, "x"));
  const y = readAll(file, getDataset(h5, "y"));
  const cellColumn = readAll(file, getDataset(h5, "cell_column"));
  h5.close();
  const g = Ease2Grid.of("9km");
  const col0 = g.xToCol(Number(x[0]));
  const row0 = g.yToRow(Number(y[0]));
  assert.equal(Number(cellColumn[0]), col0);
  for (let j = 0; j < x.length; j++) {
    assert.ok(Math.abs(g.colToX(col0 + j) - Number(x[j])) < 1, `x[${j}]`);
    assert.equal(g.xToCol(Number(x[j])), col0 + j);
  }
  for (let i = 0; i < y.length; i++) {
    assert.ok(Math.abs(g.rowToY(row0 + i) - Number(y[i])) < 1, `y[${i}]`);
    assert.equal(g.yToRow(Number(y[i])), row0 + i);
  }
  for (let i = 0; i < y.length; i += 37) {
    for (let j = 0; j < x.length; j += 41) assert.equal(Number(cellColumn[i * x.length + j]), col0 + j);
  }
});

test("property: forward and inverse projection round-trip to < 1e-9 deg", () => {
  const rand = mulberry32(42);
  for (let k = 0; k < 20000; k++) {
    const lat = -85 + 170 * rand();
    const lon = -180 + 360 * rand();
    const [x, y] = latLonToXY(lat, lon);
    const [lat2, lon2] = xyToLatLon(x, y);
    assert.ok(Math.abs(lat - lat2) < 1e-9 && Math.abs(lon - lon2) < 1e-9, `${lat},${lon} -> ${lat2},${lon2}`);
  }
});

test("property: every cell centre maps back to its cell, at every resolution", () => {
  const rand = mulberry32(7);
  for (const res of RESOLUTIONS) {
    const g = Ease2Grid.of(res);
    for (let k = 0; k < 5000; k++) {
      const r = Math.floor(rand() * g.nrows);
      const c = Math.floor(rand() * g.ncols);
      const [lat, lon] = g.rowColToLatLon(r, c);
      assert.deepEqual(g.latLonToRowCol(lat, lon), [r, c]);
      const b = g.cellBounds(r, c);
      assert.ok(b.south < lat && lat < b.north && b.west < lon && lon < b.east);
    }
  }
});

test("windows from a bbox keep exactly the cells whose centre is inside", () => {
  const g = Ease2Grid.of("9km");
  // The Pakistan SMAP point lists: box 25.02-28.49 N, 67.08-72.96 E gives 45 rows x 64 columns.
  const w = g.windowFromBBox({ south: 25.0, north: 28.5, west: 67.0, east: 73.0 });
  assert.equal(w.nrows, 45);
  assert.equal(w.ncols, 64);
  for (let i = 0; i < w.nrows; i++) {
    const lat = g.rowLatitude(w.row0 + i);
    assert.ok(lat >= 25 && lat <= 28.5);
  }
  assert.ok(g.rowLatitude(w.row0 - 1) > 28.5 && g.rowLatitude(w.row0 + w.nrows) < 25);
  assert.ok(g.colLongitude(w.col0 - 1) < 67 && g.colLongitude(w.col0 + w.ncols) > 73);
  assert.throws(() => g.windowFromBBox({ south: 25, north: 25.01, west: 67, east: 67.01 }), /no EASE2_M09km cell centre/);
  assert.throws(() => g.windowFromBBox({ south: 30, north: 25, west: 67, east: 73 }), /latitude range/);
  assert.throws(() => g.windowFromBBox({ south: 25, north: 30, west: 170, east: -170 }), /antimeridian/);
  assert.throws(() => g.checkWindow({ row0: 1600, col0: 0, nrows: 100, ncols: 10 }), /not inside/);
});

test("nesting between resolutions is exact", () => {
  const g36 = Ease2Grid.of("36km");
  const g9 = Ease2Grid.of("9km");
  const g1 = Ease2Grid.of("1km");
  assert.equal(g36.nestingFactor(g9), 4);
  assert.equal(g36.nestingFactor(g1), 36);
  assert.throws(() => g9.nestingFactor(g36), /does not nest/);
  const w36 = { row0: 100, col0: 700, nrows: 3, ncols: 5 };
  const w9 = g36.nestedWindow(w36, g9);
  assert.deepEqual(w9, { row0: 400, col0: 2800, nrows: 12, ncols: 20 });
  assert.deepEqual(g9.coveringWindow({ row0: 401, col0: 2803, nrows: 10, ncols: 2 }, g36), { row0: 100, col0: 700, nrows: 3, ncols: 2 });
  // The outer edges coincide: a 36 km cell's bounds equal the union of its 16 nested 9 km cells.
  const b36 = g36.cellBounds(100, 700);
  const first = g9.cellBounds(400, 2800);
  const last = g9.cellBounds(403, 2803);
  assert.ok(Math.abs(b36.xmin - first.xmin) < 1e-6 && Math.abs(b36.ymax - first.ymax) < 1e-6);
  assert.ok(Math.abs(b36.xmax - last.xmax) < 1e-6 && Math.abs(b36.ymin - last.ymin) < 1e-6);
  assert.deepEqual(g9.parentCell(403, 2803, g36), [100, 700]);
  // A 9 km centre lies inside its parent 36 km cell.
  const [lat, lon] = g9.rowColToLatLon(402, 2801);
  assert.deepEqual(g36.latLonToRowCol(lat, lon), [100, 700]);
});
