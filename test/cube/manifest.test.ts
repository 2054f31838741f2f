/**
 * Cube format 2: every chunk carries its CRC-32C and the store keeps a chunk manifest. A chunk
 * the manifest lists but the store lacks, a truncated chunk and a bit-flipped one are errors that
 * name the variable, the days, the file and the fix, on read and in `verify`; a copied store
 * verifies; segments written by concurrent writers are folded without loss; a format-1 cube is
 * refused with how to rebuild it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../../src/cube/cube.js";
import { MANIFEST_KEY, SEGMENT_FOLDER } from "../../src/cube/manifest.js";
import { verifyStore } from "../../src/cube/verify.js";
import { crc32c } from "../../src/util/crc32c.js";
import { SmapfillError } from "../../src/util/errors.js";
import { tempDir } from "../helpers.js";

const WINDOW = { row0: 300, col0: 3000, nrows: 10, ncols: 12 };

async function smallCube(file: string): Promise<Cube> {
  const cube = await Cube.create(file, {
    resolution: "9km",
    window: WINDOW,
    start: "2020-01-01",
    days: 20,
    chunks: { time: 8, y: 5, x: 6 },
    variables: [
      { name: "soil_moisture", kind: "dynamic", units: "m3 m-3", long_name: "sm" },
      { name: "elevation", kind: "static", units: "m", long_name: "elevation" },
    ],
    attributes: { study: { name: "s", config: "study.yaml" } },
  });
  const n = WINDOW.nrows * WINDOW.ncols;
  await cube.writeBlock(
    "soil_moisture",
    0,
    Float32Array.from({ length: 16 * n }, (_, k) => (k % 7 === 0 ? NaN : 0.1 + (k % 13) / 100)),
  );
  // Days 16..19 all missing: all-fill chunks are written and listed too.
  await cube.writeBlock("soil_moisture", 16, new Float32Array(4 * n).fill(NaN));
  await cube.writeStatic(
    "elevation",
    Float32Array.from({ length: n }, (_, k) => 100 + k),
  );
  await cube.addProvenance("test");
  return cube;
}

test("crc32c: the standard check value", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test("the manifest lists every chunk written, all-fill ones included, by paths relative to the array; a copied store verifies", async () => {
  const dir = tempDir();
  const cube = await smallCube(path.join(dir, "c.zarr"));
  const manifest = JSON.parse(fs.readFileSync(path.join(cube.path, MANIFEST_KEY.slice(1)), "utf8"));
  // 3 blocks of days x 2 x 2 spatial chunks; the static layer is one chunk (4 x 4 tiles).
  assert.equal(manifest.chunks.soil_moisture.length, 12);
  assert.ok(manifest.chunks.soil_moisture.includes("c/2/1/1"), "the all-missing last block is listed");
  assert.deepEqual(manifest.chunks.elevation, ["c/0/0"]);
  for (const coordinate of ["time", "x", "y", "lat", "lon"]) assert.deepEqual(manifest.chunks[coordinate], ["c/0"], coordinate);
  assert.equal(manifest.chunks.crs, undefined, "the scalar grid mapping has no chunk (its fill value is the value)");
  assert.ok(!JSON.stringify(manifest).includes(dir), "no absolute path");
  assert.deepEqual(fs.existsSync(path.join(cube.path, SEGMENT_FOLDER)) ? fs.readdirSync(path.join(cube.path, SEGMENT_FOLDER)) : [], [], "segments folded");
  const copy = path.join(dir, "copy", "c.zarr");
  fs.cpSync(cube.path, copy, { recursive: true });
  const r = await verifyStore(await Cube.open(copy));
  assert.deepEqual(r.damaged, []);
  assert.equal(r.chunks, 12 + 1 + 5);
  assert.equal(r.unlisted, 0);
});

test("a deleted, a truncated and a bit-flipped chunk: verify names each, and a read fails naming the variable, the days, the file and the fix", async () => {
  const dir = tempDir();
  const cube = await smallCube(path.join(dir, "c.zarr"));
  const chunk = (c: string) => path.join(cube.path, "soil_moisture", ...c.split("/"));
  fs.rmSync(chunk("c/0/0/0"));
  fs.writeFileSync(chunk("c/1/0/1"), fs.readFileSync(chunk("c/1/0/1")).subarray(0, 40));
  const flipped = fs.readFileSync(chunk("c/2/1/0"));
  flipped[Math.floor(flipped.length / 2)]! ^= 0x10;
  fs.writeFileSync(chunk("c/2/1/0"), flipped);
  const elevation = path.join(cube.path, "elevation", "c", "0", "0");
  const e = fs.readFileSync(elevation);
  e[e.length - 1]! ^= 1;
  fs.writeFileSync(elevation, e);

  const reopened = await Cube.open(cube.path);
  const r = await verifyStore(reopened);
  const byChunk = Object.fromEntries(r.damaged.map((d) => [`${d.array}/${d.chunk}`, d]));
  assert.deepEqual(Object.keys(byChunk).sort(), ["elevation/c/0/0", "soil_moisture/c/0/0/0", "soil_moisture/c/1/0/1", "soil_moisture/c/2/1/0"]);
  assert.match(byChunk["soil_moisture/c/0/0/0"]!.problem, /is missing \(the chunk manifest lists it\)/);
  assert.match(byChunk["soil_moisture/c/1/0/1"]!.problem, /is truncated/);
  assert.match(byChunk["soil_moisture/c/2/1/0"]!.problem, /its bytes changed/);
  assert.match(byChunk["soil_moisture/c/0/0/0"]!.variable, /soil_moisture \(days 2020-01-01\.\.2020-01-08, rows 0-4, cols 0-5\)/);
  assert.match(byChunk["soil_moisture/c/0/0/0"]!.hint, /smapfill ingest study\.yaml --redo 2020-01-01\.\.2020-01-08/);
  assert.match(byChunk["elevation/c/0/0"]!.hint, /smapfill ingest study\.yaml again: it rebuilds a damaged static layer/);

  await assert.rejects(
    () => reopened.readBlock("soil_moisture", 0, 20),
    (error: unknown) => {
      assert.ok(error instanceof SmapfillError);
      assert.match(
        error.message,
        /c\.zarr\/soil_moisture\/c\/0\/0\/0: soil_moisture \(days 2020-01-01\.\.2020-01-08, rows 0-4, cols 0-5\): is missing \(the chunk manifest lists it\)\. Rebuild those days: smapfill ingest study\.yaml --redo 2020-01-01\.\.2020-01-08/,
      );
      return true;
    },
  );
  // The other windows: truncated, bit-flipped: named, not a codec's stack trace.
  await assert.rejects(() => reopened.readBlock("soil_moisture", 8, 16, { row0: 0, col0: 6, nrows: 5, ncols: 6 }), /soil_moisture\/c\/1\/0\/1: .*is truncated/);
  await assert.rejects(() => reopened.readBlock("soil_moisture", 16, 20, { row0: 5, col0: 0, nrows: 5, ncols: 6 }), /c\/2\/1\/0: .*its bytes changed/);
  await assert.rejects(() => reopened.readStatic("elevation"), /elevation\/c\/0\/0: elevation \(static, rows 0-9, cols 0-11\): is damaged/);
  // Intact chunks still read.
  assert.equal((await reopened.readBlock("soil_moisture", 0, 8, { row0: 5, col0: 6, nrows: 5, ncols: 6 })).length, 8 * 30);
});

test("chunks written by concurrent writers of one store (distributed jobs) are all listed once the single writer folds their segments", async () => {
  const dir = tempDir();
  const file = path.join(dir, "p.zarr");
  await (await smallCube(file)).addVariable({ name: "estimate", kind: "dynamic", units: "m3 m-3", long_name: "written by jobs" });
  // Two "workers" (separate Cube instances, as separate processes would be) write chunks of their own.
  const a = await Cube.open(file);
  const b = await Cube.open(file);
  const n = 5 * 6;
  await a.writeBlock("estimate", 0, new Float32Array(8 * n).fill(0.2), { row0: 0, col0: 0, nrows: 5, ncols: 6 });
  await b.writeBlock("estimate", 8, new Float32Array(8 * n).fill(0.3), { row0: 5, col0: 6, nrows: 5, ncols: 6 });
  assert.equal(fs.readdirSync(path.join(file, SEGMENT_FOLDER)).length, 2, "one segment per writer");
  // Rewriting a chunk listed already adds no segment (a job run twice).
  await (await Cube.open(file)).writeBlock("soil_moisture", 0, new Float32Array(8 * n).fill(0.2), { row0: 0, col0: 0, nrows: 5, ncols: 6 });
  assert.equal(fs.readdirSync(path.join(file, SEGMENT_FOLDER)).length, 2);
  // A reader sees both before they are folded.
  const reader = await Cube.open(file);
  assert.ok(reader.checkedStore.manifest.has("estimate", "c/0/0/0") && reader.checkedStore.manifest.has("estimate", "c/1/1/1"));
  // The single writer folds them when it writes the group metadata; a worker writing again after that makes a new segment.
  const writer = await Cube.open(file);
  await writer.setAttributes({ step: 1 });
  assert.deepEqual(fs.readdirSync(path.join(file, SEGMENT_FOLDER)), []);
  await b.writeBlock("estimate", 16, new Float32Array(4 * n).fill(0.3), { row0: 5, col0: 6, nrows: 5, ncols: 6 });
  await writer.setAttributes({ step: 2 });
  const main = JSON.parse(fs.readFileSync(path.join(file, MANIFEST_KEY.slice(1)), "utf8"));
  assert.deepEqual(main.chunks.estimate, ["c/0/0/0", "c/1/1/1", "c/2/1/1"]);
  assert.equal(main.chunks.soil_moisture.length, 12);
  assert.deepEqual((await verifyStore(await Cube.open(file))).damaged, []);
});

test("a cube of format 1 is refused with how to make it again", async () => {
  const dir = tempDir();
  const cube = await smallCube(path.join(dir, "old.zarr"));
  const rootFile = path.join(cube.path, "zarr.json");
  const root = JSON.parse(fs.readFileSync(rootFile, "utf8"));
  root.attributes.smapfill.format_version = 1;
  fs.writeFileSync(rootFile, JSON.stringify(root));
  await assert.rejects(
    () => Cube.open(cube.path),
    /old\.zarr: is a smapfill cube of format 1; this smapfill reads format 2 \(chunks with checksums and a chunk manifest.*\)\. Ingest it again: smapfill ingest STUDY\.yaml with a new output path/,
  );
  root.attributes.reconstruct = { settings: "{}" };
  fs.writeFileSync(rootFile, JSON.stringify(root));
  await assert.rejects(() => Cube.open(cube.path), /is a smapfill product of format 1; .*Make the product again with smapfill reconstruct into a new --out/);
});
