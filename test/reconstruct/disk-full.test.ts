/**
 * A full disk (issue 27, finding 5): a tile write, a COG export and a PNG that find the disk full
 * end in one line naming the file, the space needed and "rerun: it resumes"; nothing temporary or
 * half-made is left, and the rerun completes and leaves none either. A real full file system
 * (a small tmpfs, where the test may mount one) behaves the same.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { REPO_ROOT, tempDir } from "../helpers.js";
import { smallChunkedCube } from "../test-world.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
function smapfill(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, SMAPFILL_THREADS: "2", ...env } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

let setup: Promise<{ dir: string; cube: string; model: string }> | undefined;
function world() {
  setup ??= (async () => {
    const dir = tempDir();
    const { cube } = await smallChunkedCube(dir);
    const model = path.join(dir, "model");
    const train = smapfill(["train", cube, "--model", "xgb", "--out", model, "--xgb-rounds", "20", "--max-train-samples", "2000", "--quiet"]);
    assert.equal(train.code, 0, train.stderr);
    return { dir, cube, model };
  })();
  return setup;
}

/** Files under `dir` a failed or finished run must not leave: temporaries and half-made exports. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (/\.(tmp|partial|merging)$|\.creating$/.test(e.name)) out.push(path.join(d, e.name));
      if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

const ONE_LINE =
  /^error: (\S+): no space left on the device: writing [\d.]+ (B|KiB|MiB) failed( \([^)]*free\))?\. Free at least [\d.]+ (B|KiB|MiB|GiB) \(about what this run's outputs need in all\) or write elsewhere, and rerun: it resumes\n$/;

for (const [k, [what, at, file]] of (
  [
    ["a tile write", "soil_moisture_uncertainty/c/", /product\.zarr\/soil_moisture_uncertainty\/c\/\d\/\d\/\d$/],
    ["a COG export", "product_cog", /product_cog\.\d+\.partial\/soil_moisture_\d{4}-\d{2}\.tif$/],
    ["a PNG", "coverage_after.png", /coverage_after\.png$/],
  ] as const
).entries()) {
  test(`a full disk in ${what}: one line with the file, the space needed and 'rerun: it resumes'; nothing temporary left; the rerun completes`, async () => {
    const w = await world();
    const out = path.join(w.dir, `full-${k}`);
    const args = ["reconstruct", w.cube, "--model", w.model, "--out", out, "--format", "zarr,cog", "--quiet"];
    const full = smapfill(args, { SMAPFILL_FAILPOINT: `enospc-at:${at}` });
    assert.equal(full.code, 2, full.stderr);
    const m = ONE_LINE.exec(full.stderr);
    assert.ok(m, full.stderr);
    assert.match(m[1]!, file);
    assert.deepEqual(leftovers(out), []);
    const rerun = smapfill(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(leftovers(out), []);
    assert.equal(smapfill(["verify", out]).code, 0);
  });
}

test("a failed reconstruct leaves no empty --out behind", async () => {
  const w = await world();
  const out = path.join(w.dir, "never");
  const r = smapfill(["reconstruct", w.cube, "--model", path.join(w.dir, "no-such-model"), "--out", out]);
  assert.equal(r.code, 2);
  assert.ok(!fs.existsSync(out), "no empty output folder");
});

test("a real full file system (a small tmpfs): one line, and after the space is freed the same command resumes to the end", async (t) => {
  const w = await world();
  const mount = path.join(w.dir, "small-disk");
  fs.mkdirSync(mount);
  const tmpfs = spawnSync("mount", ["-t", "tmpfs", "-o", "size=160k", "tmpfs", mount], { encoding: "utf8" });
  if (tmpfs.status !== 0) return t.skip(`cannot mount a tmpfs here (${tmpfs.stderr.trim()})`);
  try {
    const out = path.join(mount, "p");
    const args = ["reconstruct", w.cube, "--model", w.model, "--out", out, "--quiet"];
    const full = smapfill(args);
    assert.equal(full.code, 2, full.stdout + full.stderr);
    assert.match(full.stderr, /^error: \S+: no space left on the device: writing .* and rerun: it resumes\n$/);
    assert.deepEqual(leftovers(mount), []);
    assert.equal(spawnSync("mount", ["-o", "remount,size=64m", mount]).status, 0);
    const rerun = smapfill(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(leftovers(mount), []);
    assert.equal(smapfill(["verify", out]).code, 0);
  } finally {
    spawnSync("umount", [mount]);
  }
});
