/**
 * A product that follows its cube (issue 27, findings 1 and 2): a granule downloaded again with
 * other bytes and ingested makes the same `reconstruct` make the tiles again, equal chunk by chunk
 * to a fresh run on the new cube; `inspect` says whether a product is current; an ingest cannot
 * run while a reconstruct reads the cube, nor a reconstruct while an ingest writes it; a missing,
 * truncated or bit-flipped chunk is found by `verify` in a cube and in a product, a damaged cube
 * chunk stops `reconstruct` with the fix instead of reading as "no data", and the product's
 * attributes hold no absolute path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { Cube } from "../../src/cube/cube.js";
import { REPO_ROOT, fileHashes, tempDir } from "../helpers.js";
import { smallChunkedCube } from "../test-world.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
function smapfill(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, SMAPFILL_THREADS: "2", ...env } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

let setup: Promise<{ dir: string; cube: string; study: string; model: string }> | undefined;
function world() {
  setup ??= (async () => {
    const dir = tempDir();
    const { cube, study } = await smallChunkedCube(dir);
    const model = path.join(dir, "model");
    const train = smapfill(["train", cube, "--model", "xgb", "--out", model, "--xgb-rounds", "30", "--max-train-samples", "3000", "--quiet"]);
    assert.equal(train.code, 0, train.stderr);
    return { dir, cube, study, model };
  })();
  return setup;
}

/** sha256 of every chunk file of a product store (metadata, with its timestamps, left out). */
function chunkHashes(store: string): Map<string, string> {
  return new Map([...fileHashes(store)].filter(([k]) => /\/c(\/\d+)*$/.test(k)));
}

const reconstructArgs = (w: { cube: string; model: string }, out: string) => ["reconstruct", w.cube, "--model", w.model, "--out", out, "--quiet"];

test("a granule replaced and ingested again: the same reconstruct makes the stale tiles again and equals a fresh run chunk by chunk; inspect says whether the product is current", async () => {
  const w = await world();
  const out = path.join(w.dir, "p-stale");
  assert.equal(smapfill(reconstructArgs(w, out)).code, 0);
  const inspect = (p: string) => smapfill(["inspect", path.join(p, "product.zarr")]);
  assert.match(inspect(out).stdout, /inputs +current: its 6 tiles were made from the inputs its cube \(\.\.\/\.\.\/cube\.zarr\) holds now/);

  // Day 5's granule downloaded again, with other values (day 6's bytes under day 5's name).
  const smap = path.join(w.dir, "w", "smap");
  const names = fs.readdirSync(smap).sort();
  fs.copyFileSync(path.join(smap, names[5]!), path.join(smap, names[4]!));
  const ingest = smapfill(["ingest", w.study, "--quiet"]);
  assert.equal(ingest.code, 0, ingest.stderr);
  assert.match(ingest.stdout, /SMAP +1 blocks read again/);
  assert.match(inspect(out).stdout, /inputs +stale: 6 of 6 tiles were made before the cube changed \(SMAP on 2019-03-05\); run the same smapfill reconstruct/);

  const again = smapfill(reconstructArgs(w, out).filter((a) => a !== "--quiet"));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /6 of 6 tiles made again: the cube's inputs changed since they were made \(SMAP on 2019-03-05\)/);
  assert.doesNotMatch(again.stdout, /done before/);
  const fresh = path.join(w.dir, "p-fresh");
  assert.equal(smapfill(reconstructArgs(w, fresh)).code, 0);
  const [a, b] = [chunkHashes(path.join(out, "product.zarr")), chunkHashes(path.join(fresh, "product.zarr"))];
  assert.ok(a.size > 30);
  assert.deepEqual([...a].sort(), [...b].sort(), "equal to a fresh run, chunk by chunk");
  assert.match(inspect(out).stdout, /inputs +current/);
  // Touched but not changed: nothing is read or made again.
  const now = new Date();
  fs.utimesSync(path.join(smap, names[7]!), now, now);
  assert.doesNotMatch(smapfill(["ingest", w.study, "--quiet"]).stdout, /read again/);
  assert.match(smapfill(reconstructArgs(w, out)).stdout, /\(6 done before\)/);
});

test("ingest during reconstruct cannot mix: each refuses while the other holds the cube", async () => {
  const w = await world();
  const lockModule = path.join(REPO_ROOT, "dist", "src", "cube", "lock.js");
  const hold = (kind: "acquireReaderLock" | "acquireWriterLock", command: string) => {
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { ${kind} } from ${JSON.stringify(lockModule)}; ${kind}(${JSON.stringify(w.cube)}, ${JSON.stringify(command)}); process.stdout.write("held\\n"); setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    return new Promise<typeof child>((resolve) => child.stdout!.once("data", () => resolve(child)));
  };
  const reader = await hold("acquireReaderLock", "smapfill reconstruct");
  const ingest = smapfill(["ingest", w.study, "--quiet"]);
  assert.equal(ingest.code, 2, ingest.stderr);
  assert.match(ingest.stderr, /cube\.zarr: is being read by another smapfill run \(pid \d+ on .*, smapfill reconstruct, since .*\)\. Wait for it to finish/);
  reader.kill("SIGKILL");
  await new Promise((resolve) => reader.on("exit", resolve));
  const writer = await hold("acquireWriterLock", "smapfill ingest study.yaml");
  const r = smapfill(reconstructArgs(w, path.join(w.dir, "p-locked")));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cube\.zarr: is being written by another smapfill run \(pid \d+ on .*, smapfill ingest study\.yaml/);
  assert.ok(!fs.existsSync(path.join(w.dir, "p-locked", "product.zarr")), "no product was started");
  writer.kill("SIGKILL");
  await new Promise((resolve) => writer.on("exit", resolve));
});

/** Deletes one chunk, truncates another and flips a bit of a third, under `store`. */
function damage(store: string, variable: string): string[] {
  const chunks = [...fileHashes(path.join(store, variable)).keys()].filter((k) => /^c\//.test(k)).sort();
  const [gone, cut, flip] = [chunks[0]!, chunks[1]!, chunks[chunks.length - 1]!].map((c) => path.join(store, variable, c));
  fs.rmSync(gone!);
  fs.writeFileSync(cut!, fs.readFileSync(cut!).subarray(0, 30));
  const bytes = fs.readFileSync(flip!);
  bytes[bytes.length >> 1]! ^= 0x04;
  fs.writeFileSync(flip!, bytes);
  return [gone!, cut!, flip!];
}

test("verify finds a deleted, a truncated and a bit-flipped chunk in a product; the same reconstruct makes those tiles again", async () => {
  const w = await world();
  const out = path.join(w.dir, "p-damaged");
  assert.equal(smapfill(reconstructArgs(w, out)).code, 0);
  const reference = chunkHashes(path.join(out, "product.zarr"));
  assert.match(smapfill(["verify", out]).stdout, /product, \d+ arrays, \d+ chunk files .* checked\n {2}no damage found/);
  const [gone, cut, flip] = damage(path.join(out, "product.zarr"), "soil_moisture_uncertainty");
  const v = smapfill(["verify", out]);
  assert.equal(v.code, 2, v.stdout + v.stderr);
  assert.match(
    v.stdout,
    new RegExp(
      `damaged: ${gone}: soil_moisture_uncertainty \\(days [\\d-]+\\.\\.[\\d-]+, rows \\d+-\\d+, cols \\d+-\\d+\\): is missing \\(the chunk manifest lists it\\)\\. Run the same smapfill reconstruct again`,
    ),
  );
  assert.match(v.stdout, new RegExp(`damaged: ${cut}: .*is truncated`));
  assert.match(v.stdout, new RegExp(`damaged: ${flip}: .*its bytes changed`));
  assert.match(v.stderr, /^error: .*product\.zarr: 3 chunks or arrays are missing or damaged \(listed above\)/m);
  const again = smapfill(reconstructArgs(w, out).filter((a) => a !== "--quiet"));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /[23] of 6 tiles made again: chunks of them are missing or damaged/);
  assert.equal(smapfill(["verify", out]).code, 0);
  assert.deepEqual([...chunkHashes(path.join(out, "product.zarr"))].sort(), [...reference].sort());
});

test("a cube with a deleted, a truncated and a bit-flipped chunk: verify names them with the --redo fix, reconstruct stops naming the chunk, ingest --redo repairs it", async () => {
  const w = await world();
  const copyDir = path.join(w.dir, "damaged");
  fs.mkdirSync(copyDir);
  // A copy of the world's cube (the copy verifies: the manifest's paths are relative).
  const cube = path.join(copyDir, "cube.zarr");
  fs.cpSync(w.cube, cube, { recursive: true });
  assert.equal(smapfill(["verify", cube]).code, 0);
  const [gone, cut, flip] = damage(cube, "soil_moisture");
  const v = smapfill(["verify", cube]);
  assert.equal(v.code, 2);
  assert.match(
    v.stdout,
    new RegExp(
      `damaged: ${gone}: soil_moisture \\(days 2019-03-01\\.\\.2019-03-16, rows 0-7, cols 0-7\\): is missing .*Rebuild those days: smapfill ingest study\\.yaml --redo 2019-03-01\\.\\.2019-03-16`,
    ),
  );
  assert.match(v.stdout, new RegExp(`damaged: ${cut}: .*is truncated`));
  assert.match(v.stdout, new RegExp(`damaged: ${flip}: .*its bytes changed`));
  const r = smapfill(reconstructArgs({ cube, model: w.model }, path.join(copyDir, "p")));
  assert.equal(r.code, 2, r.stdout);
  // Whichever of the three a read meets first stops it, named with its days and the fix.
  assert.match(
    r.stderr,
    /^error: .*cube\.zarr\/soil_moisture\/c\/\d\/\d\/\d: soil_moisture \(days (2019-03-01\.\.2019-03-16|2019-04-02\.\.2019-04-09), rows \d+-\d+, cols \d+-\d+\): (is missing \(the chunk manifest lists it\)|is truncated|is damaged).*\. Rebuild those days: smapfill ingest study\.yaml --redo 2019-0[34]-\d\d\.\.2019-0[34]-\d\d$/m,
  );
  assert.doesNotMatch(r.stderr, /CodecPipelineError|\n\s+at /);
  // The study of the copy writes into the copy.
  const study = path.join(path.dirname(w.study), "study-copy.yaml");
  fs.writeFileSync(study, fs.readFileSync(w.study, "utf8").replace(/^output: .*$/m, `output: ${cube}`));
  const redo = smapfill(["ingest", study, "--quiet", "--redo", "2019-03-01..2019-04-09"]);
  assert.equal(redo.code, 0, redo.stderr);
  assert.equal(smapfill(["verify", cube]).code, 0);
});

test("the product's attributes hold no absolute path: the cube and the model are named relative to the product", async () => {
  const w = await world();
  const out = path.join(w.dir, "p-paths");
  assert.equal(smapfill(reconstructArgs(w, out)).code, 0);
  const store = path.join(out, "product.zarr");
  const root = fs.readFileSync(path.join(store, "zarr.json"), "utf8");
  assert.ok(!root.includes(w.dir), `no absolute path in ${root.match(new RegExp(`[^"]*${w.dir}[^"]*`))?.[0]}`);
  const a = (await Cube.open(store)).attributes;
  assert.equal(path.resolve(store, String(a.product_source_cube)), path.resolve(w.cube));
  assert.equal(path.resolve(store, String(a.model_dir)), path.resolve(w.model));
});
