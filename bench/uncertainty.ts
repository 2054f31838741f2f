/**
 * `npm run bench -- uncertainty`: does the uncertainty follow the error? Per cube, a quick
 * `smapfill evaluate` with the boosted trees (xgb, 500 rounds, 20 000 training rows: CPU is
 * scarce, and one model is enough to test a residual model every model shares), and from it:
 *  - the calibration rows: how many per distance bin and which bins the residual model pooled
 *    (uncertainty.json), the diagnosis of the flat sigma;
 *  - on the test gaps: coverage of the 90 % interval, mean sigma, RMSE and the interval
 *    (Winkler) score per distance bin, on all test gaps and on the transplanted ones (SMAP's real
 *    masks moved in time), per missing reason and per gap kind;
 *  - on the demo world, the product (the demo's product model, `--frozen fill`) against the
 *    truth on SMAP's real gaps: the truth inside the 90 % interval on the gaps not flagged frozen,
 *    and on the frozen ones apart (their sigma set without any truth).
 * Each evaluation goes to WORK/uncertainty/KEY and is reused when its evaluation.json is there.
 */
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Cube } from "../src/cube/cube.js";
import { productAgainstTruth } from "../src/eval/against-truth.js";
import { DEMO_PRODUCT_MODEL, trainProductModel } from "../src/reconstruct/product-model.js";
import { reconstruct, SOURCE_FLAGS } from "../src/reconstruct/reconstruct.js";
import { DISTANCE_LABELS } from "../src/models/uncertainty.js";
import type { CoverageRow as Row } from "../src/eval/uncertainty.js";

export interface UncertaintyBenchOptions {
  repo: string;
  workDir: string;
  /** `seed`: the split's seed (default 0): another draw of the held-out gaps on the same cube. */
  cubes: { label: string; key: string; path: string; demoWorld?: string; seed?: number }[];
}

const QUICK = [
  "--models",
  "xgb",
  "--reference",
  "xgb",
  "--ablation-pairs",
  "none",
  "--importance",
  "none",
  "--boot",
  "0",
  "--max-train-samples",
  "20000",
  "--xgb-rounds",
  "500",
];

function smapfill(o: UncertaintyBenchOptions, args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(o.repo, "bin", "smapfill.js"), ...args, "--quiet"], { cwd: o.repo, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`smapfill ${args.slice(0, 2).join(" ")} failed (exit ${r.status})`);
}

const round = (r: Row) => ({
  group: r.group,
  n: r.n,
  coverage90: +r.coverage90.toFixed(4),
  mean_sigma: +r.meanSigma.toFixed(5),
  rmse: +r.rmse.toFixed(5),
  winkler90: +r.winkler90.toFixed(5),
});

/** Every distance bin with at least `least` transplanted test rows inside 85-95 %. */
function binsHold(rows: Row[], least: number): { bins: number; hold: number; outside: string[] } {
  const bins = rows.filter((r) => r.group !== "transplanted" && r.n >= least);
  const outside = bins.filter((r) => r.coverage90 < 0.85 || r.coverage90 > 0.95).map((r) => `${r.group} ${(100 * r.coverage90).toFixed(1)} % (${r.n})`);
  return { bins: bins.length, hold: bins.length - outside.length, outside };
}

/** Where RMSE rises from one populated bin to a farther one by more than 10 %, whether mean sigma rises too. */
function sigmaFollows(rows: Row[], least: number): { pairs: number; follows: number; against: string[] } {
  const bins = DISTANCE_LABELS.map((l) => rows.find((r) => r.group === l)).filter((r): r is Row => !!r && r.n >= least);
  const against: string[] = [];
  let pairs = 0;
  for (let i = 0; i < bins.length; i++)
    for (let j = i + 1; j < bins.length; j++)
      if (bins[j]!.rmse > 1.1 * bins[i]!.rmse) {
        pairs++;
        if (!(bins[j]!.meanSigma > bins[i]!.meanSigma)) against.push(`${bins[i]!.group} -> ${bins[j]!.group}`);
      }
  return { pairs, follows: pairs - against.length, against };
}

async function demoProductAgainstTruth(o: UncertaintyBenchOptions, cubePath: string, world: string): Promise<Record<string, unknown>> {
  const dir = path.join(o.workDir, "uncertainty", "demo-product");
  const modelDir = path.join(dir, "model");
  const cube = await Cube.open(cubePath);
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(modelDir, "fit.json")))
    await trainProductModel(cube, { ...DEMO_PRODUCT_MODEL, params: { ...DEMO_PRODUCT_MODEL.params }, out: modelDir, seed: 0 });
  const store = path.join(dir, "product.zarr");
  await reconstruct({ cube: cubePath, model: modelDir, out: store, frozen: "fill" });
  const product = await Cube.open(store);
  const truth = await Cube.open(path.join(world, "truth.zarr"));
  const T = cube.days;
  const s = productAgainstTruth({
    smap: await cube.readBlock("soil_moisture", 0, T),
    truth: await truth.readBlock("soil_moisture_true", 0, T),
    product: await product.readBlock("soil_moisture", 0, T),
    uncertainty: await product.readBlock("soil_moisture_uncertainty", 0, T),
    source: await product.readBlock("soil_moisture_source", 0, T),
    frozenFlag: SOURCE_FLAGS.reconstructed_frozen,
  });
  const pick = (m: { n: number; rmse: number; bias: number; inside90: number }) => ({
    n: m.n,
    rmse: +m.rmse.toFixed(5),
    bias: +m.bias.toFixed(5),
    inside90: +m.inside90.toFixed(4),
  });
  return {
    what: "the demo's product (xgb, 500 rounds, 20 000 rows; --frozen fill) against the synthetic truth on SMAP's real gaps",
    frozen_policy: product.attributes.frozen_policy,
    frozen_uncertainty_method: product.attributes.frozen_uncertainty_method,
    all_gaps: pick({ ...s.reconstructed, inside90: s.inside90 }),
    not_frozen: pick(s.elsewhere!),
    frozen_reported_apart: pick(s.frozen!),
    calibration_coverage: JSON.parse(String(product.attributes.model_calibration_coverage)),
  };
}

export async function benchUncertainty(o: UncertaintyBenchOptions): Promise<Record<string, unknown>> {
  const cubes: Record<string, unknown> = {};
  for (const c of o.cubes) {
    if (!fs.existsSync(c.path)) {
      cubes[c.key] = { label: c.label, skipped: `no cube at ${c.path}` };
      continue;
    }
    const dir = path.join(o.workDir, "uncertainty", c.key);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const started = performance.now();
    if (!fs.existsSync(path.join(dir, "evaluation.json"))) smapfill(o, ["evaluate", c.path, "--out", dir, ...QUICK, "--seed", String(c.seed ?? 0)]);
    const e = JSON.parse(fs.readFileSync(path.join(dir, "evaluation.json"), "utf8"));
    const split = e.splits[0];
    const m = split.models.find((x: { model: string }) => x.model === "xgb");
    const u = m.uncertainty as Record<string, Row[] | undefined>;
    const state = JSON.parse(fs.readFileSync(path.join(dir, m.modelDir, "uncertainty.json"), "utf8"));
    const transplanted = u.byDistanceTransplanted ?? [];
    cubes[c.key] = {
      label: c.label,
      seed: c.seed ?? 0,
      samples: split.samples,
      test_rmse: m.test.rmse.value,
      calibration_rows: {
        per_distance_bin: Object.fromEntries(DISTANCE_LABELS.map((l, d) => [l, (state.counts[d] as number[]).reduce((a, b) => a + b, 0)])),
        pooled_bins: state.pooledBins,
        q90_by_distance: state.q90Distance,
        season_scale: state.seasonScale,
        reason_scale: state.reasonScale,
      },
      transplanted_bins_within_85_95: binsHold(transplanted, 200),
      sigma_rises_where_rmse_does: { all_test_gaps: sigmaFollows(u.byDistance ?? [], 200), transplanted: sigmaFollows(transplanted, 200) },
      by_distance: (u.byDistance ?? []).map(round),
      by_distance_transplanted: transplanted.map(round),
      by_reason_transplanted: (u.byReason ?? []).map(round),
      by_kind: (u.byKind ?? []).map(round),
      ...(c.demoWorld ? { product_against_truth: await demoProductAgainstTruth(o, c.path, c.demoWorld) } : {}),
      seconds_on_a_shared_machine: (performance.now() - started) / 1000,
    };
  }
  return {
    what: "the 90 % interval per distance bin, missing reason and gap kind, on quick xgb evaluations (500 rounds, 20 000 training rows, no bootstrap); calibration gaps transplanted (HELD_OUT_DESIGN 3)",
    cubes,
  };
}
