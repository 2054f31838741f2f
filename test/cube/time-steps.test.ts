/** Predictor time steps across files: overlaps and repeats refused by name, or resolved by on_duplicate. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveTimeSteps, type FileTimes } from "../../src/cube/time-steps.js";

const H = 3_600_000;
const hours = (from: number, n: number) => Float64Array.from({ length: n }, (_, k) => (from + k) * H);
const f = (file: string, times: Float64Array, mtimeMs = 0): FileTimes => ({ file, times, mtimeMs });

test("files that follow each other pass; steps come in time order", () => {
  const { steps, dropped } = resolveTimeSteps([f("/d/feb.nc", hours(744, 24)), f("/d/jan.nc", hours(0, 744))], undefined, "predictor 't2m'");
  assert.equal(steps.length, 768);
  assert.ok(steps.every((s, i) => i === 0 || s.time > steps[i - 1]!.time));
  assert.equal(dropped, undefined);
});

test("overlapping files and a time repeated in a file are refused, naming the files and the times", () => {
  assert.throws(
    () => resolveTimeSteps([f("/d/ERA5_2020_01.nc", hours(0, 744)), f("/d/ERA5_2020_01_final.nc", hours(360, 744))], undefined, "predictor 't2m' (t2m)"),
    /\/d\/ERA5_2020_01\.nc: predictor 't2m' \(t2m\): ERA5_2020_01_final\.nc overlaps it from 1970-01-16T00:00Z to 1970-01-31T23:00Z\. Two versions of the same hours would be blended .*set on_duplicate: first\|last\|newest-file/,
  );
  const repeated = Float64Array.from([...hours(0, 24), 5 * H, 6 * H]);
  assert.throws(
    () => resolveTimeSteps([f("/d/a.nc", repeated)], undefined, "predictor 'x' (x)"),
    /\/d\/a\.nc: predictor 'x' \(x\): the file holds 1970-01-01T05:00Z more than once \(and 1 more repeated times\)/,
  );
});

test("on_duplicate: first keeps the first file's period, last the last file's, newest-file the newest; repeats keep one step", () => {
  const a = f("/d/a.nc", hours(0, 48), 2000);
  const b = f("/d/b.nc", hours(24, 48), 1000);
  const fromFile = (rule: "first" | "last" | "newest-file") => {
    const r = resolveTimeSteps([a, b], rule, "p");
    assert.equal(r.steps.length, 72, "one step per hour");
    return { files: r.steps.map((s) => s.file.slice(3, 4)).join(""), dropped: r.dropped };
  };
  const first = fromFile("first");
  assert.equal(first.files, "a".repeat(48) + "b".repeat(24));
  assert.equal(first.dropped, "24 steps of b.nc dropped (on_duplicate: first)");
  assert.equal(fromFile("last").files, "a".repeat(24) + "b".repeat(48));
  assert.equal(fromFile("newest-file").files, "a".repeat(48) + "b".repeat(24), "a is newer");
  const twice = f("/d/r.nc", Float64Array.from([0, H, H, 2 * H]));
  assert.deepEqual(
    resolveTimeSteps([twice], "first", "p").steps.map((s) => s.index),
    [0, 1, 3],
  );
  assert.deepEqual(
    resolveTimeSteps([twice], "last", "p").steps.map((s) => s.index),
    [0, 2, 3],
  );
});
