/**
 * `npm run bench -- sequence`: the sequence model (lstm) against its PyTorch reference
 * (bench/python/torch_sequence.py) on the same rows, over training seeds (parity: the mean test
 * RMSE within 3 %). The rows are an evaluation's: a cube's simulated gaps (split seed 0) through
 * the one row draw (training, validation: the fit view) and the test rows in the ship view;
 * smapfill trains its model through the Regressor interface (the windows gathered per batch);
 * the reference trains the same network, with the same protocol, on the same inputs materialised
 * (the windows smapfill's model gathers, standardised as it standardises them: what is compared
 * is the network and its training).
 */
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Cube } from "../src/cube/cube.js";
import { designRoles } from "../src/eval/splits.js";
import { Role } from "../src/features/roles.js";
import { concatRows, drawRows, readObservedRoles, streamShipRows, withOrigin, type RowSet } from "../src/features/row-draw.js";
import { writeNpy } from "../src/io/npy.js";
import { createRegressor, resolveParams } from "../src/models/registry.js";
import { prepareRows } from "../src/models/regressor.js";
import type { SequenceRegressor } from "../src/models/sequence-regressor.js";
import { rmse } from "./reference-data.js";

export interface SequenceBenchOptions {
  repo: string;
  cube: string;
  workDir: string;
  rows: number;
  seeds: number[];
  params: Record<string, number>;
  threads: number;
  weather: boolean;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

export async function benchSequence(o: SequenceBenchOptions): Promise<Record<string, unknown>> {
  const cube = await Cube.open(o.cube);
  const { nrows, ncols } = cube.window;
  const P = nrows * ncols;
  const { roles: observed } = await readObservedRoles(cube, { quiet: true });
  const roles = designRoles("gaps", observed, nrows, ncols, { shares: { validation: 0.1, test: 0.2, calibration: 0.1 }, seed: 0 });
  const settings = { seed: 0, tsMode: "out-of-fold" as const, ...(o.weather ? { weather: { apiDecay: 0.9, rainThresholds: [1, 5, 20] } } : {}) };
  const draw = await drawRows(cube, roles, { maxRows: o.rows, maxHeldRows: o.rows, quiet: true, ...settings });
  const F = draw.schema.names.length;
  const parts: RowSet[] = [];
  await streamShipRows(cube, roles, {
    select: (_p, _t, role) => role === Role.Test,
    quiet: true,
    ...(o.weather ? { weather: settings.weather } : {}),
    onRows: (r) => void parts.push(r),
  });
  const test = concatRows(parts, F);
  const fit = { roles, view: "fit" as const };
  const rows = { train: withOrigin(draw.train, cube, fit), validation: withOrigin(draw.validation, cube, fit) };
  const testRows = withOrigin(test, cube, { roles, view: "ship" });
  const dir = path.join(o.workDir, "sequence");
  fs.mkdirSync(dir, { recursive: true });
  const params = resolveParams("lstm", o.params);
  const ours: Record<string, unknown>[] = [];
  for (const seed of o.seeds) {
    const model = createRegressor("lstm", draw.schema.names, draw.schema.groups, o.params, { seed, threads: o.threads }) as SequenceRegressor;
    const [train, validation, te] = await prepareRows(model, [rows.train, rows.validation, testRows]);
    const started = performance.now();
    model.fit(train!, { validation: validation!, onProgress: (m) => process.stderr.write(`sequence bench, seed ${seed}: ${m}\n`) });
    const seconds = (performance.now() - started) / 1000;
    const pred = model.predict(te!.X, te!.n, te!.origin);
    ours.push({ seed, test_rmse: rmse(pred, te!.y), train_s: seconds, ...model.info() });
    if (seed === o.seeds[0]) {
      // The inputs the model gathers, materialised once for the reference (not seed-dependent).
      for (const [name, r] of [
        ["train", train!],
        ["validation", validation!],
        ["test", te!],
      ] as const) {
        const { Z, f, channels } = model.inputs(r);
        writeNpy(path.join(dir, `${name}_Z.npy`), Z, [r.n, f]);
        writeNpy(path.join(dir, `${name}_y.npy`), r.y, [r.n]);
        fs.writeFileSync(
          path.join(dir, "meta.json"),
          JSON.stringify({
            steps: params.window,
            channels,
            hidden: params.hidden,
            max_epochs: params.max_epochs,
            batch: params.batch_size,
            lr_patience: params.lr_patience,
            stop_patience: params.stop_patience,
            threads: o.threads,
          }),
        );
      }
    }
  }
  const out = path.join(dir, "torch.json");
  const script = path.join(o.repo, "bench", "python", "torch_sequence.py");
  const run = spawnSync("/usr/bin/python3", [script, dir, o.seeds.join(","), out], { encoding: "utf8", stdio: ["ignore", "inherit", "inherit"] });
  if (run.status !== 0) throw new Error(`torch_sequence.py failed (exit ${run.status})`);
  const reference = JSON.parse(fs.readFileSync(out, "utf8")) as { torch: string; runs: { test_rmse: number }[] };
  const [a, b] = [mean(ours.map((r) => r.test_rmse as number)), mean(reference.runs.map((r) => r.test_rmse))];
  return {
    benchmark: "sequence",
    description:
      "The sequence model (lstm) and its PyTorch reference (bench/python/torch_sequence.py: the same network, Adam 1e-3, batches of 512, the plateau rule) on the same rows of a cube's simulated gaps (split seed 0; training and validation rows from the fit view, test rows from the ship view), over training seeds; the reference trains on the inputs smapfill's model gathers, materialised. Parity: the mean test RMSE within 3 %.",
    cube: path.resolve(o.cube),
    pixels: P,
    rows: { train: draw.train.n, validation: draw.validation.n, test: test.n },
    weather: o.weather,
    params,
    threads: o.threads,
    smapfill: ours,
    pytorch: reference,
    mean_test_rmse: { smapfill: a, pytorch: b, relative_difference: a / b - 1 },
    within_3_percent: Math.abs(a / b - 1) <= 0.03,
  };
}
