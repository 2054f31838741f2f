/**
 * The product against in situ on the days SMAP missed (#25 items 5 and 6): on each cube, a product
 * model per candidate (trained on every observation, quick settings), its gap-free product, and
 * the product at the stations inside (ubRMSE, R, anomaly R, bias: pooled and mean over stations)
 * beside SMAP on its own days; on the demo world also against its truth on SMAP's real gaps
 * (frozen ground apart). Beside them, each candidate's test RMSE by gap kind (transplanted: SMAP's
 * real masks moved in time) from evaluation folders made beforehand with `smapfill evaluate`.
 * The cubes are made beforehand: `smapfill ingest examples/hawaii-2017-2018.yaml`, `smapfill demo`.
 */
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../src/cube/cube.js";
import { productAgainstTruth } from "../src/eval/against-truth.js";
import { trainProductModel } from "../src/reconstruct/product-model.js";
import { productAtStations, type ProductAtStations } from "../src/reconstruct/product-stations.js";
import { reconstruct } from "../src/reconstruct/reconstruct.js";

export interface InsituBenchCube {
  label: string;
  cube: string;
  ismn: string;
  /** Station depth limits to score at (e.g. 0.06: SMAP's own; 0.17 keeps COSMOS). */
  depths: number[];
  /** The demo world's folder (truth.zarr): scores against the truth too. */
  demoWorld?: string;
  /** An evaluation folder of this cube (smapfill evaluate --out): test RMSE by gap kind. */
  evaluation?: string;
  /** How that evaluation was made (its command), recorded beside its numbers. */
  evaluationCommand?: string;
  maxSamples?: number;
  params?: Record<string, number>;
}

export interface InsituBenchOptions {
  workDir: string;
  models: string[];
  cubes: InsituBenchCube[];
}

const r4 = (v: number | null | undefined) => (typeof v === "number" && Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);

function summary(at: ProductAtStations) {
  const side = (a: ProductAtStations["product"]) => ({
    pooled: {
      n: a.pooled.n,
      rmse: r4(a.pooled.rmse),
      ubrmse: r4(a.pooled.ubrmse),
      bias: r4(a.pooled.bias),
      r: r4(a.pooled.r),
      anomaly_r: r4(a.pooled.anomalyR),
    },
    mean_over_stations: {
      stations: a.stations,
      rmse: r4(a.stationMean.rmse),
      ubrmse: r4(a.stationMean.ubrmse),
      bias: r4(a.stationMean.bias),
      r: r4(a.stationMean.r),
      anomaly_r: r4(a.stationMean.anomalyR),
    },
  });
  return {
    product_on_gap_days: side(at.product),
    smap_on_observed_days: side(at.smap),
    per_station: at.stations
      .filter((s) => s.product.n + s.smap.n > 0)
      .map((s) => ({
        station: `${s.network} ${s.station}`,
        product_on_gap_days: {
          n: s.product.n,
          rmse: r4(s.product.rmse),
          ubrmse: r4(s.product.ubrmse),
          bias: r4(s.product.bias),
          r: r4(s.product.r),
          anomaly_r: r4(s.product.anomalyR),
        },
        smap_on_observed_days: {
          n: s.smap.n,
          rmse: r4(s.smap.rmse),
          ubrmse: r4(s.smap.ubrmse),
          bias: r4(s.smap.bias),
          r: r4(s.smap.r),
          anomaly_r: r4(s.smap.anomalyR),
        },
      })),
  };
}

/** Test RMSE and 90 % interval coverage by gap kind of each model of an evaluation's first split. */
function byGapKind(evaluation: string): Record<string, Record<string, { n: number; rmse: number | null; coverage90: number | null }>> {
  const e = JSON.parse(fs.readFileSync(path.join(evaluation, "evaluation.json"), "utf8")) as {
    splits: { models: { model: string; uncertainty?: { byKind: { group: string; n: number; rmse: number; coverage90: number }[] } }[] }[];
  };
  return Object.fromEntries(
    e.splits[0]!.models.map((m) => [
      m.model,
      Object.fromEntries((m.uncertainty?.byKind ?? []).map((g) => [g.group, { n: g.n, rmse: r4(g.rmse), coverage90: r4(g.coverage90) }])),
    ]),
  );
}

export async function benchInsitu(o: InsituBenchOptions): Promise<Record<string, unknown>> {
  const cubes: Record<string, unknown> = {};
  for (const c of o.cubes) {
    if (!fs.existsSync(c.cube)) {
      cubes[c.label] = { skipped: `no cube at ${c.cube}` };
      continue;
    }
    const cube = await Cube.open(c.cube);
    const products: Record<string, unknown> = {};
    // A cube without stations or truth contributes its evaluation only.
    for (const model of c.depths.length || c.demoWorld ? o.models : []) {
      const dir = path.join(o.workDir, "insitu", path.basename(c.cube, ".zarr"), model);
      fs.mkdirSync(dir, { recursive: true });
      const modelDir = path.join(dir, "model");
      const params = Object.fromEntries(Object.entries(c.params ?? {}).filter(([k]) => !k.includes(".") || k.startsWith(`${model}.`)));
      if (!fs.existsSync(path.join(modelDir, "fit.json")))
        await trainProductModel(cube, { model, out: modelDir, params, seed: 0, ...(c.maxSamples ? { maxSamples: c.maxSamples } : {}) });
      const store = path.join(dir, "product.zarr");
      await reconstruct({ cube: c.cube, model: modelDir, out: store });
      const product = await Cube.open(store);
      const record = JSON.parse(fs.readFileSync(path.join(modelDir, "fit.json"), "utf8")) as {
        calibration_metrics?: { rmse?: { value: number } };
        rows?: Record<string, number>;
      };
      const atDepth: Record<string, unknown> = {};
      for (const depth of c.depths) atDepth[`stations_to_${depth}_m`] = summary(await productAtStations(product, c.ismn, { flags: ["G"], maxDepth: depth }));
      let truth: Record<string, unknown> | undefined;
      if (c.demoWorld) {
        const T = cube.days;
        const t = await Cube.open(path.join(c.demoWorld, "truth.zarr"));
        const s = productAgainstTruth({
          smap: await cube.readBlock("soil_moisture", 0, T),
          truth: await t.readBlock("soil_moisture_true", 0, T),
          frozen: await t.readBlock("frozen", 0, T),
          product: await product.readBlock("soil_moisture", 0, T),
          uncertainty: await product.readBlock("soil_moisture_uncertainty", 0, T),
        });
        const m = (x: { n: number; rmse: number; bias: number } | undefined) => (x ? { n: x.n, rmse: r4(x.rmse), bias: r4(x.bias) } : null);
        truth = {
          reconstructed: m(s.reconstructed),
          frozen: m(s.frozen),
          not_frozen: m(s.elsewhere),
          truth_inside_90: r4(s.inside90),
          smap_observed: m(s.smapObserved),
        };
      }
      products[model] = {
        params,
        calibration_rmse: r4(record.calibration_metrics?.rmse?.value),
        rows: record.rows,
        ...atDepth,
        ...(truth ? { against_truth_on_real_gaps: truth } : {}),
      };
    }
    cubes[c.label] = {
      cube: c.cube,
      ismn: c.ismn,
      products,
      ...(c.evaluation && fs.existsSync(path.join(c.evaluation, "evaluation.json"))
        ? { evaluation_command: c.evaluationCommand, evaluation_test_rmse_by_gap_kind: byGapKind(c.evaluation) }
        : {}),
    };
  }
  return {
    what: "the product against in situ on the days SMAP missed (pooled and mean over stations; anomaly R of 35-day moving-average departures) beside SMAP on its observed days, per product model; the paper's headline: mean RMSE 0.09 m3/m3 against in situ (Liu et al. 2025)",
    models: o.models,
    cubes,
  };
}
