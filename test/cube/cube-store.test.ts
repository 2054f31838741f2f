import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { Cube } from "../../src/cube/cube.js";
import { Rng } from "../../src/util/random.js";
import { tempDir } from "../helpers.js";

/** A small cube on disk with a dynamic and a static variable. */
async function makeCube(): Promise<{ dir: string; sm: Float32Array; elev: Float32Array }> {
  const dir = path.join(tempDir(), "c.zarr");
  const [nrows, ncols, T] = [6, 7, 40];
  const cube = await Cube.create(dir, {
    resolution: "9km",
    window: { row0: 300, col0: 3000, nrows, ncols },
    start: "2020-01-01",
    days: T,
    variables: [
      { name: "soil_moisture", kind: "dynamic", units: "m3 m-3", long_name: "SMAP" },
      { name: "elevation", kind: "static", units: "m", long_name: "height" },
    ],
    chunks: { time: 16, y: 4, x: 4 },
  });
  const rng = new Rng(5);
  const sm = Float32Array.from({ length: T * nrows * ncols }, () => (rng.uniform() < 0.5 ? 0.05 + 0.4 * rng.uniform() : NaN));
  const elev = Float32Array.from({ length: nrows * ncols }, () => 1000 * rng.uniform());
  await cube.writeBlock("soil_moisture", 0, sm);
  await cube.writeStatic("elevation", elev);
  return { dir, sm, elev };
}

/** Every file of a folder as a zarrita in-memory store (a Map keyed by absolute paths). */
function memoryStore(dir: string): Map<`/${string}`, Uint8Array> {
  const store = new Map<`/${string}`, Uint8Array>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else store.set(`/${path.relative(dir, full).split(path.sep).join("/")}`, new Uint8Array(fs.readFileSync(full)));
    }
  };
  walk(dir);
  return store;
}

/** A static file server on a loopback port that serves `dir` and counts requests. */
async function serve(dir: string): Promise<{ url: string; close: () => Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    const file = path.join(dir, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function contents(cube: Cube) {
  return {
    window: cube.window,
    start: cube.start,
    days: cube.days,
    variables: cube.variables.map((v) => v.name),
    block: Array.from(await cube.readBlock("soil_moisture", 3, 30, { row0: 1, col0: 2, nrows: 4, ncols: 5 })),
    statics: Array.from(await cube.readStatic("elevation")),
  };
}

test("one cube reads the same from disk, from an in-memory store and over HTTP", async () => {
  const { dir, sm, elev } = await makeCube();
  const disk = await Cube.open(dir);
  const expected = await contents(disk);
  assert.deepEqual(await disk.readBlock("soil_moisture", 0, 40), sm);
  assert.deepEqual(expected.statics, Array.from(elev));

  const memory = await Cube.open({ store: memoryStore(dir), name: "memory" });
  assert.deepEqual(await contents(memory), expected);
  assert.equal(memory.path, "memory");

  const server = await serve(dir);
  try {
    const remote = await Cube.open(`${server.url}/`);
    assert.deepEqual(await contents(remote), expected);
    assert.ok(server.requests.includes("/zarr.json"), "the metadata came over HTTP");
    assert.ok(
      server.requests.some((r) => r.startsWith("/soil_moisture/c/")),
      "and the chunks too",
    );
    // Over HTTP a cube is read-only, and says so.
    await assert.rejects(remote.writeStatic("elevation", elev), /is open read-only/);
    await assert.rejects(remote.addProvenance("x"), /is open read-only/);
    // A URL without a cube: a clear error, not a stack.
    await assert.rejects(Cube.open(`${server.url}/nothing.zarr`), /nothing\.zarr: is not a smapfill cube \(no zarr\.json\)/);
  } finally {
    await server.close();
  }
});

test("a cube in memory can be written and grown through the same code", async () => {
  const { dir } = await makeCube();
  const store = memoryStore(dir);
  const cube = await Cube.open({ store });
  const ones = new Float32Array(6 * 7).fill(0.25);
  await cube.writeDay("soil_moisture", 5, ones);
  await cube.appendDays(3);
  await cube.addProvenance("test", { where: "memory" });
  const again = await Cube.open({ store });
  assert.equal(again.days, 43);
  assert.deepEqual(await again.readDay("soil_moisture", 5), ones);
  assert.ok(Number.isNaN((await again.readDay("soil_moisture", 42))[0]!));
  assert.equal(again.provenance.at(-1)!.step, "test");
  // The disk copy is untouched.
  assert.equal((await Cube.open(dir)).days, 40);
});
