/**
 * The registry's conformance suite (scikit-learn's estimator checks, for our registry): every
 * registered model, whatever its name, is created, fitted on rows of a small cube through the one
 * row draw, saved by the one fit-and-save, loaded, predicts identically after loading, is
 * deterministic under its seed, declares its capabilities truthfully (a sequence model reads its
 * rows' history from the cube once they are prepared, and refuses rows from no cube) and refuses
 * bad hyperparameters with the list of valid keys. Every gap filler keeps its own contract. A model
 * added to the registry is covered without editing this file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../../src/cube/cube.js";
import { designRoles } from "../../src/eval/splits.js";
import { Role } from "../../src/features/roles.js";
import { drawRows, readObservedRoles, type RowSet } from "../../src/features/row-draw.js";
import { fitAndSave, loadFitted } from "../../src/models/fit.js";
import { createRegressor, gapFillerEntry, gapFillerNames, modelEntry, modelNames, type ParamSpec } from "../../src/models/registry.js";
import { predictLater, prepareRows, spreadOf } from "../../src/models/regressor.js";
import { tempDir } from "../helpers.js";
import { smallChunkedCube } from "../test-world.js";

let rows:
  | Promise<{ train: RowSet; validation: RowSet; calibration: RowSet; schema: Awaited<ReturnType<typeof drawRows>>["schema"]; roles: Int8Array; cube: Cube }>
  | undefined;
/** Rows of the small test cube (40 days, 6 tiles): the product model's design. */
function cubeRows() {
  rows ??= (async () => {
    const cube = await Cube.open((await smallChunkedCube(tempDir())).cube);
    const { roles: observed } = await readObservedRoles(cube, { quiet: true });
    const roles = designRoles("product", observed, cube.window.nrows, cube.window.ncols, { shares: { validation: 0.1, test: 0, calibration: 0.15 }, seed: 1 });
    const d = await drawRows(cube, roles, { seed: 1, maxRows: 1200, maxHeldRows: 400, quiet: true });
    return { ...d, roles, cube };
  })();
  return rows;
}

/** The entry's quick hyperparameters as model-specific keys of the flat map. */
const quick = (name: string, q: Record<string, number> | undefined) => Object.fromEntries(Object.entries(q ?? {}).map(([k, v]) => [`${name}.${k}`, v]));

/** Values just outside a parameter's range (and a fraction for whole numbers). */
function badValues(spec: ParamSpec): number[] {
  const out = [spec.max + (spec.integer ? 1 : Math.max(1e-6, Math.abs(spec.max) * 1e-3)), spec.minExclusive ? spec.min : spec.min - 1, NaN];
  if (spec.integer && spec.max - spec.min >= 2) out.push(spec.min + 0.5);
  return out;
}

for (const name of modelNames()) {
  test(`conformance of ${name}: fit, save, load, identical predictions, deterministic, truthful capabilities, bad parameters refused`, async () => {
    const entry = modelEntry(name);
    const { train, validation, calibration, schema, cube, roles } = await cubeRows();
    const origin = (r: RowSet) => ({ ...r, origin: { pixel: r.pixel, day: r.day, cube: { path: cube.path }, seen: { roles, view: "fit" as const } } });
    const params = quick(name, entry.quick);
    const dir = path.join(tempDir(), name);
    const fitted = await fitAndSave(
      { name, params, seed: 3, threads: 2 },
      { train: origin(train), validation: origin(validation), calibration: origin(calibration) },
      { out: dir, schema },
    );
    for (const f of ["model.json", "schema.json", "uncertainty.json", "fit.json"]) assert.ok(fs.existsSync(path.join(dir, f)), `${name} wrote ${f}`);
    const record = JSON.parse(fs.readFileSync(path.join(dir, "fit.json"), "utf8"));
    assert.equal(record.model, name);
    assert.deepEqual(
      Object.keys(record.params).sort(),
      Object.keys(entry.params)
        .filter((k) => entry.params[k]!.default !== null || k in (entry.quick ?? {}))
        .sort(),
    );

    const X = calibration.X;
    // Rows ready for the model (a sequence model's history read from the cube), as every caller prepares them.
    const [cal] = await prepareRows(fitted.model, [origin(calibration)]);
    const from = cal!.origin;
    const pred = fitted.model.predict(X, calibration.n, from);
    assert.equal(pred.length, calibration.n);
    assert.ok(pred.every(Number.isFinite), `${name} predicts finite values`);
    const loaded = loadFitted(dir);
    assert.deepEqual(loaded.model.predict(X, calibration.n, from), pred, `${name}: the same predictions after loading`);
    const sigmaOf = (m: typeof loaded) => (
      m.model.predict(X, calibration.n, from),
      m.residual!.sigma(X, calibration.n, schema, spreadOf(m.model, X, calibration.n, from))
    );
    assert.deepEqual(sigmaOf(loaded), sigmaOf(fitted), `${name}: the same uncertainty after loading`);
    // Something was learnt: better than the training mean on held-out rows.
    const mean = train.y.reduce((a, b) => a + b, 0) / train.n;
    const rmse = (p: ArrayLike<number>) => Math.sqrt(calibration.y.reduce((s, y, i) => s + (p[i]! - y) ** 2, 0) / calibration.n);
    assert.ok(rmse(pred) < rmse(new Float32Array(calibration.n).fill(mean)), `${name}: ${rmse(pred)} against the mean's`);

    // Deterministic under its seed.
    const again = createRegressor(name, schema.names, schema.groups, params, { seed: 3, threads: 2 });
    const [tr, va] = await prepareRows(again, [origin(train), origin(validation)]);
    again.fit(tr!, { validation: va! });
    assert.deepEqual(again.predict(X, calibration.n, from), pred, `${name}: the same seed, the same model`);

    // Capabilities: declared ones exist and agree with predict.
    const caps = fitted.model.capabilities;
    assert.equal(typeof caps.predictLater, "boolean");
    assert.equal(typeof caps.spread, "boolean");
    assert.equal(typeof caps.sequence, "boolean");
    if (caps.predictLater) assert.equal(typeof fitted.model.predictLater, "function");
    assert.deepEqual(predictLater(fitted.model, X, calibration.n, from)(), pred);
    if (caps.spread) {
      fitted.model.predict(X, calibration.n, from);
      const spread = fitted.model.spread!(X, calibration.n, from);
      assert.equal(spread.length, calibration.n);
      assert.ok(spread.every((v) => v >= 0));
    }
    if (caps.sequence) {
      assert.equal(typeof fitted.model.prepare, "function");
      // Unprepared rows, and rows from no cube (a dataset folder), are refused.
      assert.throws(() => fitted.model.predict(X, calibration.n, origin(calibration).origin), /did not prepare these rows/);
      await assert.rejects(
        fitAndSave({ name, params, seed: 0 }, { train, validation }, { out: path.join(tempDir(), "no-cube"), schema }),
        /reads its pixels' history from a cube/,
      );
    }

    // Bad hyperparameters refused, naming the valid keys.
    assert.throws(
      () => createRegressor(name, schema.names, schema.groups, { [`${name}.no_such_parameter`]: 1 }),
      (e: Error) => e.message.includes("no parameter 'no_such_parameter'") && Object.keys(entry.params).every((k) => e.message.includes(k)),
    );
    for (const [key, spec] of Object.entries(entry.params))
      for (const v of badValues(spec))
        assert.throws(() => createRegressor(name, schema.names, schema.groups, { [`${name}.${key}`]: v }), /out of range/, `${name}.${key} = ${v}`);
    // And before any fit: fitAndSave refuses them without writing anything.
    const refused = path.join(tempDir(), "refused");
    await assert.rejects(fitAndSave({ name, params: { [`${name}.no_such_parameter`]: 1 }, seed: 0 }, { train, validation }, { out: refused, schema }));
    assert.equal(fs.existsSync(refused), false);
  });
}

for (const name of gapFillerNames()) {
  test(`conformance of the gap filler ${name}: fills the window from its training values alone, deterministically; bad parameters refused`, async () => {
    const entry = gapFillerEntry(name);
    const { roles, cube } = await cubeRows();
    const smap = await cube.readBlock("soil_moisture", 0, cube.days);
    const dims: [number, number, number] = [cube.days, cube.window.nrows, cube.window.ncols];
    const params = { ...Object.fromEntries(Object.entries(entry.params).map(([k, s]) => [k, s.default!])), ...entry.quick };
    const a = await entry.fill(smap, roles, dims, params);
    assert.equal(a.values.length, smap.length);
    assert.deepEqual((await entry.fill(smap, roles, dims, params, { threads: 2 })).values, a.values, "deterministic, on any number of threads");
    // Held-out values (validation, calibration) do not feed it: perturbing them changes nothing.
    const perturbed = Float32Array.from(smap, (v, k) => (roles[k] !== Role.Train && !Number.isNaN(v) ? v + 0.3 : v));
    assert.deepEqual((await entry.fill(perturbed, roles, dims, params)).values, a.values);
    // Every held-out value of a pixel with training values gets a finite estimate.
    const P = dims[1] * dims[2];
    const trained = new Uint8Array(P);
    roles.forEach((r, k) => r === Role.Train && (trained[k % P] = 1));
    roles.forEach((r, k) => {
      if ((r === Role.Validation || r === Role.Calibration) && trained[k % P]) assert.ok(Number.isFinite(a.values[k]!), `${name} fills ${k}`);
    });
    for (const [key, spec] of Object.entries(entry.params))
      for (const v of badValues(spec))
        assert.throws(() => createRegressor(name, ["x"], ["dynamic"], { [`${name}.${key}`]: v }), /out of range|is not trained on rows/);
    assert.throws(() => modelEntry(name), /fills a whole cube window and is not trained on rows/);
  });
}

test("the ensemble with the sequence model as a member (ensemble.lstm=1, ensemble.tssmnet=0, its window ensemble.lstm_window): a sequence model itself, fitted, saved and loaded through the one fit-and-save with the same predictions", async () => {
  const { train, validation, calibration, schema, cube, roles } = await cubeRows();
  const origin = (r: RowSet) => ({ ...r, origin: { pixel: r.pixel, day: r.day, cube: { path: cube.path }, seen: { roles, view: "fit" as const } } });
  const params = { "ensemble.rounds": 30, "ensemble.max_epochs": 2, "ensemble.tssmnet": 0, "ensemble.lstm": 1, "ensemble.lstm_window": 7 };
  const dir = path.join(tempDir(), "ensemble-lstm");
  const fitted = await fitAndSave(
    { name: "ensemble", params, seed: 3, threads: 2 },
    { train: origin(train), validation: origin(validation), calibration: origin(calibration) },
    { out: dir, schema },
  );
  assert.equal(fitted.model.capabilities.sequence, true);
  const [cal] = await prepareRows(fitted.model, [origin(calibration)]);
  const pred = fitted.model.predict(calibration.X, calibration.n, cal!.origin);
  assert.ok(pred.every(Number.isFinite));
  const loaded = loadFitted(dir);
  assert.equal(loaded.model.capabilities.sequence, true);
  const [again] = await prepareRows(loaded.model, [origin(calibration)]);
  assert.deepEqual(loaded.model.predict(calibration.X, calibration.n, again!.origin), pred);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8")).members, ["xgb", "lstm"]);
  // The member's window is the ensemble's lstm_window (the window chosen on validation gaps reaches it).
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "members", "lstm", "model.json"), "utf8")).options.window, 7);
  // Neither member left: refused.
  assert.throws(() => createRegressor("ensemble", schema.names, schema.groups, { "ensemble.tssmnet": 0 }), /at least two members/);
});
