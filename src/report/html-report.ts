/**
 * `smapfill report`: one self-contained HTML file over an evaluation and/or a product. Sections:
 * the study (region map, period, predictors and their coverage), SMAP coverage before and after,
 * the model comparison (CIs, TsSMNet's RMSE reduction, the time-series ablation, the paper's
 * headline figures beside ours), density plots, station series, feature importance, the
 * uncertainty's calibration, the per-station table, problems, and config/versions/timings.
 */
import fs from "node:fs";
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import type { EvaluationResult, ModelScore } from "../eval/experiment.js";
import { forEachPrediction } from "../eval/predictions.js";
import { densityGrid } from "./figure-data.js";
import type { Metrics } from "../eval/metrics.js";
import { modelLabel } from "../models/registry.js";
import { runInfo } from "../util/run-info.js";
import { bordersWithin, worldLand } from "./borders.js";
import { barChart, densityChart, seriesChart } from "./figure-specs.js";
import { dateRuns, productSection } from "./product-section.js";
import type { ProductAtStations } from "../reconstruct/product-stations.js";
import { gapKindRmse } from "./evaluation-report.js";
import { fmt, pct } from "./format.js";
import { esc, figure, page, table } from "./html.js";
import { locatorChart, mapChart, windowExtent } from "./map-figure.js";
import { productPixelSeries } from "../reconstruct/coverage.js";
import type { ReportInputs } from "./report-inputs.js";
import { renderFigure, type Figure, type VegaLiteSpec } from "./vega.js";

/** Liu et al. (2025, Remote Sensing 17:3729): TsSMNet over China, 9 km, 2016-2022. */
export const PAPER = {
  citation: "Liu et al. (2025), Remote Sensing 17:3729",
  insituRmse: 0.09,
  meanRmseReduction: 0.171,
  /** The models TsSMNet is compared with in the paper. */
  compared: ["autoresnet", "transformer", "rf", "xgb"],
};

export interface ReportOutcome {
  html: string;
  figures: Figure[];
  sections: string[];
}

const label = modelLabel;
const label_ = modelLabel;

export async function buildReport(inputs: ReportInputs, title = "smapfill report"): Promise<ReportOutcome> {
  const figures: Figure[] = [];
  const add = async (id: string, caption: string, spec: VegaLiteSpec) => {
    const f = await renderFigure(id, caption, spec);
    figures.push(f);
    return figure(f, caption);
  };
  const sections: { id: string; title: string; html: string }[] = [];
  const section = (id: string, t: string, html: string) => sections.push({ id, title: t, html });
  const ev = inputs.evaluation?.result;
  const cube = inputs.cube ?? inputs.product?.product;

  // The product first (what a user takes away), then the study and the evaluation behind it.
  const productModel = inputs.product ? String(inputs.product.product.attributes.model ?? "") : undefined;
  if (inputs.product) section("product", "The product", await productSection(inputs.product, add));
  if (cube) section("study", "Study", await studySection(cube, add));
  if (ev) {
    section("models", inputs.product ? "Model comparison (the evaluation behind the product)" : "Model comparison", await modelsSection(ev, add));
    const figs = inputs.evaluation!.figures;
    if (figs?.scatter || figs?.insitu) section("density", "Estimates against the hidden SMAP values and in situ", await densitySection(ev, inputs, add));
  }
  if (inputs.evaluation?.figures?.stations.length || inputs.product) {
    const s = await stationSection(inputs, add);
    if (s.html) section("stations", s.title, s.html);
  }
  if (ev?.importance.length) section("importance", "Feature importance", await importanceSection(ev, add, productModel));
  if (ev?.splits.some((s) => s.models.some((m) => m.uncertainty)))
    section("uncertainty", "Uncertainty calibration", await uncertaintySection(ev, add, productModel));
  if (ev?.insitu || inputs.product?.atStations?.stations.length) section("station-table", "Per-station scores", stationTable(ev, inputs.product?.atStations));
  section("problems", "Problems found", problemsSection(inputs));
  section("run", "Configuration, versions and timings", runSection(inputs));

  const run = runInfo();
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<p>Written ${esc(new Date().toISOString().slice(0, 16).replace("T", " "))} UTC by smapfill ${esc(run.smapfill)}${run.commit ? ` (${esc(run.commit.slice(0, 10))})` : ""} from ${[
      inputs.evaluation && `the evaluation <code>${esc(inputs.evaluation.dir)}</code>`,
      inputs.product && `the product <code>${esc(inputs.product.path)}</code>`,
    ]
      .filter(Boolean)
      .join(" and ")}.</p>`,
    `<nav><ol>${sections.map((s) => `<li><a href="#${s.id}">${esc(s.title)}</a></li>`).join("")}</ol></nav>`,
    ...sections.map((s) => `<section id="${s.id}"><h2>${esc(s.title)}</h2>\n${s.html}</section>`),
  ].join("\n");
  return { html: page(title, body), figures, sections: sections.map((s) => s.id) };
}

type Add = (id: string, caption: string, spec: VegaLiteSpec) => Promise<string>;

async function studySection(cube: Cube, add: Add): Promise<string> {
  const w = cube.window;
  const e = windowExtent(cube.grid, w);
  const P = w.nrows * w.ncols;
  const parts = [
    `<p>${esc(cube.grid.name)} (EPSG:6933), rows ${w.row0}-${w.row0 + w.nrows - 1}, columns ${w.col0}-${w.col0 + w.ncols - 1} (${w.nrows} x ${w.ncols} cells), ` +
      `${fmt(e.south, 2)} to ${fmt(e.north, 2)} deg N, ${fmt(e.west, 2)} to ${fmt(e.east, 2)} deg E; ${esc(cube.start)} + ${cube.days} days.</p>`,
  ];
  // The region: SMAP's share of days with a retrieval per cell, on the borders.
  const smapName = cube.hasVariable("soil_moisture") ? "soil_moisture" : undefined;
  const dynamic = cube.variables.filter((v) => v.kind === "dynamic" && !v.name.startsWith("soil_moisture"));
  const statics = cube.variables.filter((v) => v.kind === "static");
  const counts = new Map<string, number>();
  const sum = new Float64Array(P);
  const count = new Float64Array(P);
  for (const tile of cube.tiles()) {
    const tp = tile.nrows * tile.ncols;
    for (const v of [...(smapName ? [smapName] : []), ...dynamic.map((d) => d.name)]) {
      const block = await cube.readBlock(v, 0, cube.days, tile);
      let n = 0;
      for (let k = 0; k < block.length; k++) {
        if (Number.isNaN(block[k]!)) continue;
        n++;
        if (v !== smapName) continue;
        const p = (tile.row0 + Math.floor((k % tp) / tile.ncols)) * w.ncols + tile.col0 + ((k % tp) % tile.ncols);
        sum[p]! += block[k]!;
        count[p]!++;
      }
      counts.set(v, (counts.get(v) ?? 0) + n);
    }
  }
  if (smapName)
    parts.push(
      '<div class="grid2">',
      await add(
        "study-map",
        "The study region: mean SMAP soil moisture of each cell over its retrievals (before gap filling); country borders and coastlines from Natural Earth 1:50m.",
        mapChart({
          title: "Mean SMAP soil moisture",
          values: Float32Array.from(sum, (s, p) => (count[p]! ? s / count[p]! : NaN)),
          grid: cube.grid,
          window: w,
          legend: "m3/m3",
          format: ".2f",
          borders: bordersWithin(e),
          missingLabel: "never retrieved",
        }),
      ),
      await add("study-locator", "The region (red) on the world's land (Natural Earth 1:110m, Equal Earth projection).", locatorChart(worldLand(), e)),
      "</div>",
    );
  const rows = dynamic.map((v) => [esc(v.name), "daily", esc(v.units), pct((counts.get(v.name) ?? 0) / (P * cube.days))]);
  for (const v of statics) {
    const values = await cube.readStatic(v.name);
    rows.push([esc(v.name), "static", esc(v.units), pct(values.filter((x) => !Number.isNaN(x)).length / P)]);
  }
  parts.push(
    table(["predictor", "kind", "units", "cell-days (cells) with a value"], rows, { caption: `${dynamic.length + statics.length} predictors in the cube` }),
  );
  return parts.join("\n");
}

function metricRow(name: string, m: Metrics, extra: string[] = []): string[] {
  return [
    esc(name),
    String(m.n),
    `${fmt(m.rmse.value)} <small>[${fmt(m.rmse.ciLow)}, ${fmt(m.rmse.ciHigh)}]</small>`,
    fmt(m.ubrmse.value),
    fmt(m.bias.value),
    fmt(m.r.value, 3),
    fmt(m.mae.value),
    ...extra,
  ];
}

async function modelsSection(ev: EvaluationResult, add: Add): Promise<string> {
  const parts: string[] = [];
  const ref = ev.config.reference;
  for (const s of ev.splits) {
    parts.push(
      `<h3>${esc(s.description)}</h3>`,
      `<p>${s.samples.train} training, ${s.samples.validation} validation and ${s.samples.test} test samples; the same test rows for every model.</p>`,
    );
    parts.push(
      table(
        ["model", "N", "RMSE [95 % CI]", "ubRMSE", "bias", "R", "MAE", `${esc(label(ref))}'s RMSE reduction`, "train s"],
        s.models.map((m) => metricRow(label(m.model), m.test, [m.model === ref ? "-" : pct(m.referenceRmseReduction), fmt(m.trainSeconds, 0)])),
        { caption: "Test scores against the hidden SMAP values (m3/m3)" },
      ),
    );
    parts.push(
      await add(
        `rmse-${s.split}`,
        `Test RMSE of every model on the ${s.split} split, with its 95 % bootstrap CI (resampling whole test days).`,
        barChart(
          `Test RMSE, ${s.split} split`,
          s.models.map((m) => ({ label: label(m.model), value: m.test.rmse.value, low: m.test.rmse.ciLow, high: m.test.rmse.ciHigh })),
          "RMSE against the hidden SMAP values (m3/m3)",
        ),
      ),
    );
    const byKind = gapKindRmse(s.models);
    if (byKind)
      parts.push(
        table(
          ["model", ...byKind.kinds.map((k) => `${esc(k)} RMSE`)],
          byKind.rows.map((r) => [esc(r.label), ...r.cells]),
          { caption: "Test RMSE by gap kind (swath stripes, blocks, runs of days; m3/m3)" },
        ),
      );
    if (s.ablations.length)
      parts.push(
        table(
          ["with", "without", "RMSE reduction by the left-out group", "RMSE difference [paired bootstrap 95 % CI]"],
          s.ablations.map((a) => [
            esc(label(a.with)),
            esc(label(a.without)),
            pct(a.rmseReduction),
            a.rmseDifference ? `${fmt(a.rmseDifference.value)} <small>[${fmt(a.rmseDifference.ciLow)}, ${fmt(a.rmseDifference.ciHigh)}]</small>` : "-",
          ]),
          { caption: "Time-series feature ablation" },
        ),
      );
    if (s.withoutTs.length)
      parts.push(
        table(
          ["model without ts", "N", "RMSE [95 % CI]", "ubRMSE", "bias", "R", "MAE"],
          s.withoutTs.map((m) => metricRow(`${label(m.model)} without ts`, m.test)),
        ),
      );
  }
  // The paper's headline figures beside ours.
  const head = ev.splits[0];
  const compared = head?.models.filter((m) => PAPER.compared.includes(m.model) && m.model !== ref) ?? [];
  const meanReduction = compared.length ? compared.reduce((a, m) => a + (m.referenceRmseReduction ?? NaN), 0) / compared.length : NaN;
  const insituRef = ev.insitu?.models.find((m) => m.model === ref);
  parts.push(
    table(
      ["", PAPER.citation, "this run"],
      [
        [
          "mean RMSE against in situ (m³/m³; ours: the mean of the per-station RMSEs of the reference model)",
          fmt(PAPER.insituRmse, 2),
          insituRef
            ? `${fmt(insituRef.gap.stationMean.rmse, 3)} on gap days, ${fmt(insituRef.observed.stationMean.rmse, 3)} on observed days (mean of ${insituRef.gap.stationMean.stations} per-station RMSEs; pooled over station-days: ${fmt(insituRef.gap.pooled.rmse.value, 3)} and ${fmt(insituRef.observed.pooled.rmse.value, 3)})`
            : "no stations",
        ],
        [
          `${esc(label(ref))}'s average RMSE reduction against ${compared.map((m) => esc(label(m.model))).join(", ") || "the other models"}`,
          pct(PAPER.meanRmseReduction),
          pct(meanReduction),
        ],
      ],
      { caption: "The paper's headline figures beside ours (the paper: China, 9 km, 2016-2022)", numeric: false },
    ),
  );
  return parts.join("\n");
}

async function densitySection(ev: EvaluationResult, inputs: ReportInputs, add: Add): Promise<string> {
  const f = inputs.evaluation!.figures!;
  const productModel = inputs.product ? String(inputs.product.product.attributes.model ?? "") : undefined;
  // The figures are about the model that made the product: its column of the evaluation's per-row
  // test predictions when the evaluation scored it, else the reference model's saved plot, said so.
  let scatter = f.scatter;
  if (productModel && scatter && scatter.model !== productModel) {
    const smap: number[] = [];
    const estimate: number[] = [];
    const file = path.join(inputs.evaluation!.dir, "predictions", `${scatter.split}.csv.gz`);
    if (await forEachPrediction(file, productModel, (a, b) => (smap.push(a), estimate.push(b))))
      scatter = { model: productModel, split: scatter.split, density: densityGrid(smap, estimate) };
  }
  const parts: string[] =
    productModel && f.scatter && scatter!.model !== productModel
      ? [
          `<p>The evaluation saved these plots for its reference model, ${esc(label(f.scatter.model))}; the product's model, ${esc(label(productModel))}, has no test predictions in the evaluation folder (<code>predictions/${esc(f.scatter.split)}.csv.gz</code>): its scores are in the model comparison and the product section.</p>`,
          '<div class="grid2">',
        ]
      : ['<div class="grid2">'];
  if (scatter)
    parts.push(
      await add(
        "density-smap",
        `${esc(label(scatter.model))} against the hidden SMAP values of the ${esc(scatter.split)} test set (${scatter.density.n} pixel-days); colour: pixel-days per cell (log scale); dashed: 1:1.`,
        densityChart(`${label(scatter.model)} vs hidden SMAP`, scatter.density, "hidden SMAP", label(scatter.model)),
      ),
    );
  if (f.insitu)
    parts.push(
      await add(
        "density-insitu",
        `${esc(label(f.insitu.model))} against in situ (${ev.config.insituValue}) on every station day (${f.insitu.density.n} station-days).`,
        densityChart(`${label(f.insitu.model)} vs in situ`, f.insitu.density, "in situ", label(f.insitu.model)),
      ),
    );
  parts.push("</div>");
  return parts.join("\n");
}

/** The stations with the most in-situ days, at most `max`. */
function bestCovered<T extends { insitu: (number | null)[] }>(stations: T[], max: number): T[] {
  const days = (s: T) => s.insitu.filter((v) => v !== null).length;
  return [...stations].sort((a, b) => days(b) - days(a)).slice(0, max);
}

/**
 * Series: the product at its stations (in situ, SMAP, the product and its 90 % interval), or,
 * without a product, the evaluation's saved station series; without stations, the product at
 * its least- and median-covered cells.
 */
async function stationSection(inputs: ReportInputs, add: Add): Promise<{ title: string; html: string }> {
  const f = inputs.evaluation?.figures;
  const parts: string[] = [];
  const insituName = inputs.evaluation?.result.config.insituValue ?? "daily";
  const p = inputs.product;
  const caption = "grey: days without SMAP; red: days the product could not fill (no line or band is drawn there).";
  if (p?.atStations?.stations.length) {
    const label = `gap-free product (${label_(String(p.product.attributes.model ?? ""))})`;
    for (const st of bestCovered(p.atStations.stations, 6)) {
      const s = await productPixelSeries(p.product, st.pixel);
      parts.push(
        await add(
          `station-${st.network}-${st.station}`.replace(/[^A-Za-z0-9_-]/g, "_"),
          `${esc(st.network)} ${esc(st.station)} (${fmt(st.lat, 3)} N, ${fmt(st.lon, 3)} E): in situ, SMAP, and the product with its 90 % interval (product RMSE on gap days ${fmt(st.product.rmse, 3)}, SMAP's on its days ${fmt(st.smap.rmse, 3)}); ${caption}`,
          seriesChart({
            title: `${st.network} ${st.station}`,
            dates: p.product.dates(),
            insitu: st.insitu,
            ...s,
            estimateLabel: label,
            insituLabel: "in situ (daily)",
          }),
        ),
      );
    }
    return { title: "Stations: in situ, SMAP and the product", html: parts.join("\n") };
  }
  if (!p) {
    for (const s of f?.stations ?? [])
      parts.push(
        await add(
          `station-${s.network}-${s.station}`.replace(/[^A-Za-z0-9_-]/g, "_"),
          `${esc(s.network)} ${esc(s.station)} (${fmt(s.lat, 3)} N, ${fmt(s.lon, 3)} E): in situ, SMAP, and ${esc(label_(s.model))} with its 90 % interval; ${caption}`,
          seriesChart({
            title: `${s.network} ${s.station}`,
            dates: f!.dates,
            insitu: s.insitu,
            smap: s.smap,
            estimate: s.estimate,
            sigma: s.sigma,
            estimateLabel: label_(s.model),
            insituLabel: `in situ (${insituName})`,
          }),
        ),
      );
    return { title: "Station time series", html: parts.join("\n") };
  }
  // No stations: the product's series at its least- and median-covered land cells.
  const { product, coverage } = p;
  const before = coverage.perPixel.before;
  const land = [...before.keys()].filter((q) => Number.isFinite(before[q]!));
  land.sort((a, b) => before[a]! - before[b]!);
  for (const q of [land[0], land[Math.floor(land.length / 2)]].filter((x) => x !== undefined)) {
    const s = await productPixelSeries(product, q!);
    const [lat, lon] = product.grid.rowColToLatLon(
      product.window.row0 + Math.floor(q! / product.window.ncols),
      product.window.col0 + (q! % product.window.ncols),
    );
    parts.push(
      await add(
        `pixel-${q}`,
        `The product at the cell ${fmt(lat, 3)} N, ${fmt(lon, 3)} E (SMAP on ${pct(before[q!])} of days): SMAP, the product and its 90 % interval; ${caption}`,
        seriesChart({ title: `cell ${fmt(lat, 2)} N, ${fmt(lon, 2)} E`, dates: product.dates(), ...s, estimateLabel: "gap-free product" }),
      ),
    );
  }
  return { title: "The product at sample cells (no stations)", html: parts.join("\n") };
}

async function importanceSection(ev: EvaluationResult, add: Add, productModel?: string): Promise<string> {
  const parts: string[] = [];
  // The product's model first.
  const ordered = [...ev.importance].sort((a, b) => Number(b.model === productModel) - Number(a.model === productModel));
  for (const imp of ordered) {
    const r = imp.result;
    parts.push(
      `<p>${esc(label_(imp.model))}${imp.model === productModel ? " (the product's model)" : ""}: permutation importance on ${imp.rows} test rows (RMSE ${fmt(r.baselineRmse)} before permuting); the increase of the RMSE when a feature (or a whole group) is shuffled.</p>`,
      await add(
        `importance-groups-${imp.model}`,
        "Importance by feature group.",
        barChart(
          `${label_(imp.model)}: importance by group`,
          r.groups.map((g) => ({ label: g.name, value: g.rmseIncrease, low: g.rmseIncrease - 1.96 * g.sd, high: g.rmseIncrease + 1.96 * g.sd })),
          "RMSE increase when shuffled (m³/m³)",
        ),
      ),
      await add(
        `importance-features-${imp.model}`,
        "The 20 most important features (whiskers: +-1.96 sd over the repeats).",
        barChart(
          `${label_(imp.model)}: the 20 most important features`,
          [...r.features]
            .sort((a, b) => b.rmseIncrease - a.rmseIncrease)
            .slice(0, 20)
            .map((x) => ({ label: x.name, value: x.rmseIncrease, low: x.rmseIncrease - 1.96 * x.sd, high: x.rmseIncrease + 1.96 * x.sd })),
          "RMSE increase when shuffled (m³/m³)",
        ),
      ),
    );
  }
  return parts.join("\n");
}

async function uncertaintySection(ev: EvaluationResult, add: Add, productModel?: string): Promise<string> {
  const parts: string[] = [
    "<p>A residual model (the 90 % quantile of the absolute validation residuals by distance to the nearest retrieval and season, as one sigma) gives every estimate its uncertainty; here the share of hidden test values inside the 90 % interval (target 85-95 %), per model and gap kind.</p>",
  ];
  const s = ev.splits[0]!;
  const scored = s.models.filter((m): m is ModelScore & { uncertainty: NonNullable<ModelScore["uncertainty"]> } => Boolean(m.uncertainty));
  const kinds = [...new Set(scored.flatMap((m) => m.uncertainty.byKind.map((r) => r.group)))];
  parts.push(
    table(
      ["model", ...kinds.map((k) => esc(k)), "mean sigma"],
      scored.map((m) => [
        esc(label_(m.model)),
        ...kinds.map((k) => pct(m.uncertainty.byKind.find((r) => r.group === k)?.coverage90)),
        fmt(m.uncertainty.byKind[0]?.meanSigma),
      ]),
      { caption: `Share of hidden SMAP values inside the 90 % interval, ${esc(s.split)} split` },
    ),
  );
  const featured = scored.find((m) => m.model === productModel) ?? scored.find((m) => m.model === ev.config.reference) ?? scored[0];
  if (featured) {
    const rows = [...featured.uncertainty.byKind, ...featured.uncertainty.byDistance.filter((r) => r.group !== "all")];
    parts.push(
      await add(
        `calibration-${featured.model}`,
        `Reliability of ${esc(label_(featured.model))}'s 90 % interval${featured.model === productModel ? " (the product's model)" : ""}: the share of hidden values inside it by gap kind and by distance to the nearest retrieval (the number of test values in brackets); green: the 85-95 % target.`,
        barChart(
          `${label_(featured.model)}: share inside the 90 % interval`,
          rows.map((r) => ({ label: `${r.group} (${r.n})`, value: r.coverage90 })),
          "share inside the 90 % interval",
          { domain: [0.5, 1], band: [0.85, 0.95], format: ".1%" },
        ),
      ),
    );
  }
  return parts.join("\n");
}

/** Per station: SMAP's RMSE on its days, the product's and every evaluated model's on gap days (m³/m³). */
function stationTable(ev: EvaluationResult | undefined, atStations: ProductAtStations | undefined): string {
  const key = (s: { network: string; station: string }) => `${s.network}/${s.station}`;
  type Row = {
    place: string;
    smap: [number, number];
    gapDays?: number;
    product?: number;
    scores?: ProductAtStations["stations"][number];
    models: Map<string, number>;
  };
  const rows = new Map<string, Row>();
  for (const s of ev?.insitu?.smap.perStation ?? [])
    rows.set(key(s), { place: `${fmt(s.lat, 2)} N ${fmt(s.lon, 2)} E`, smap: [s.n, s.rmse], models: new Map() });
  for (const s of atStations?.stations ?? []) {
    const r: Row = rows.get(key(s)) ?? { place: `${fmt(s.lat, 2)} N ${fmt(s.lon, 2)} E`, smap: [s.smap.n, s.smap.rmse], models: new Map() };
    r.product = s.product.rmse;
    r.scores = s;
    r.gapDays = s.product.n;
    rows.set(key(s), r);
  }
  const models = ev?.insitu?.models ?? [];
  for (const m of models)
    for (const s of m.gap.perStation) {
      const r = rows.get(key(s));
      if (!r) continue;
      r.models.set(m.model, s.rmse);
      r.gapDays ??= s.n;
    }
  const head = [
    "station",
    "where",
    "SMAP days",
    "SMAP RMSE",
    "gap days",
    ...(atStations ? ["product RMSE", "product ubRMSE", "product R", "product anomaly R", "SMAP anomaly R"] : []),
    ...models.map((m) => esc(label_(m.model))),
  ];
  return `<div class="table-wrap">${table(
    head,
    [...rows.entries()].map(([k, r]) => [
      esc(k),
      r.place,
      String(r.smap[0]),
      fmt(r.smap[1], 3),
      r.gapDays === undefined ? "-" : String(r.gapDays),
      ...(atStations
        ? [
            fmt(r.product, 3),
            fmt(r.scores?.product.ubrmse, 3),
            fmt(r.scores?.product.r, 3),
            fmt(r.scores?.product.anomalyR, 3),
            fmt(r.scores?.smap.anomalyR, 3),
          ]
        : []),
      ...models.map((m) => fmt(r.models.get(m.model), 3)),
    ]),
    {
      caption: `RMSE against in situ per station: SMAP on the days it observed, the product (also its ubRMSE, R and anomaly R) and the evaluated models on gap days (m³/m³${ev?.insitu ? `, ${esc(ev.insitu.value)} values` : ""})`,
    },
  )}</div>`;
}

function problemsSection(inputs: ReportInputs): string {
  const items: string[] = [...inputs.notes];
  const ev = inputs.evaluation?.result;
  if (ev) {
    items.push(...(ev.warnings ?? []));
    if (ev.insitu) {
      for (const f of ev.insitu.failures) items.push(`ISMN file failed: ${typeof f === "string" ? f : JSON.stringify(f)}`);
      for (const s of ev.insitu.implausible) items.push(`station ${s.station}: ${s.dropped} implausible values dropped (${s.file})`);
      if (ev.insitu.outside.length) items.push(`${ev.insitu.outside.length} stations outside the cube: ${ev.insitu.outside.join(", ")}`);
    }
  }
  const cube = inputs.cube;
  if (cube) {
    const a = cube.attributes as Record<string, unknown>;
    const smap = a.smap_ingest as { blocks?: Record<string, { failures?: unknown[]; missingDays?: string[] }> } | undefined;
    const failures = Object.values(smap?.blocks ?? {}).flatMap((b) => b.failures ?? []);
    const missing = Object.values(smap?.blocks ?? {}).flatMap((b) => b.missingDays ?? []);
    for (const f of failures) items.push(`SMAP granule failed: ${typeof f === "string" ? f : JSON.stringify(f)}`);
    if (missing.length) items.push(`${missing.length} days without a SMAP granule: ${dateRuns(missing)}`);
    const predictors = a.predictor_ingest as Record<string, { blocks?: Record<string, { missingDays?: string[] }> }> | undefined;
    for (const [name, p] of Object.entries(predictors ?? {})) {
      const days = Object.values(p.blocks ?? {}).flatMap((b) => b.missingDays ?? []);
      if (days.length) items.push(`predictor '${name}' has no file for ${days.length} days: ${dateRuns(days)}`);
    }
  }
  const p = inputs.product;
  if (p) {
    const c = p.coverage;
    const unfilled = c.days.filter((_, t) => c.perDay.after[t]! < 1 - 1e-9);
    const pixelDays = p.summary?.report?.pixelDays;
    const notFilled = pixelDays?.notFilled;
    const masked = pixelDays?.frozenMasked ?? 0;
    if (unfilled.length)
      items.push(
        `${notFilled !== undefined ? `${notFilled.toLocaleString("en")} land pixel-days` : "Land pixel-days"} on ${unfilled.length} days not filled (predictors missing${masked ? `, or frozen ground masked: ${masked.toLocaleString("en")} of them` : ""}): ${dateRuns(unfilled)}`,
      );
    const rec = p.product.attributes.reconstruct as { clipped?: number } | undefined;
    if (rec?.clipped) items.push(`${rec.clipped} reconstructed values were clipped to SMAP's valid range`);
  }
  return items.length
    ? `<ul class="problems">${items.map((t) => `<li>${esc(t)}</li>`).join("")}</ul>`
    : '<p class="ok">None: every granule, station file and predictor day was read, and every land pixel-day was filled.</p>';
}

/** A fit record as words: "epochs run 10, best epoch 10, best val rmse 0.0407". */
function fitText(fit: unknown): string {
  if (!fit || typeof fit !== "object") return "-";
  return Object.entries(fit as Record<string, unknown>)
    .map(([k, v]) => `${k.replaceAll("_", " ")} ${typeof v === "number" ? (Number.isInteger(v) ? v.toLocaleString("en") : v.toPrecision(4)) : String(v)}`)
    .join(", ");
}

function runSection(inputs: ReportInputs): string {
  const parts: string[] = [];
  const ev = inputs.evaluation?.result;
  if (ev) {
    parts.push(
      `<p>Evaluation: smapfill ${esc(ev.run.smapfill)}${ev.run.commit ? ` (${esc(ev.run.commit.slice(0, 10))})` : ""}, Node ${esc(ev.run.node)}, ${esc(ev.run.cpu)} x ${ev.run.cores}, ${fmt(ev.run.memoryGiB, 1)} GiB, ${esc(ev.run.time)}; ${fmt(ev.seconds, 0)} s in all.</p>`,
      table(
        ["model", "split", "training rows", "training s", "fit"],
        ev.splits.flatMap((s) =>
          s.models.map((m) => [esc(label_(m.model)), esc(s.split), m.trainRows.toLocaleString("en"), fmt(m.trainSeconds, 1), esc(fitText(m.fit))]),
        ),
        { caption: "Timings" },
      ),
      `<details><summary>Evaluation config</summary><pre>${esc(JSON.stringify(ev.config, null, 2))}</pre></details>`,
    );
  }
  if (inputs.product) {
    const a = inputs.product.product.attributes;
    if (inputs.product.summary?.command) parts.push(`<p>Product: <code>${esc(inputs.product.summary.command)}</code></p>`);
    parts.push(`<details><summary>Product attributes (model, calibration, settings)</summary><pre>${esc(JSON.stringify(a, null, 2))}</pre></details>`);
  }
  if (inputs.cube) parts.push(`<details><summary>Study cube provenance</summary><pre>${esc(JSON.stringify(inputs.cube.provenance, null, 2))}</pre></details>`);
  return parts.join("\n");
}

/** Writes the report (temporary name, then rename) and returns it. */
export async function writeReport(inputs: ReportInputs, out: string, title?: string): Promise<ReportOutcome> {
  const r = await buildReport(inputs, title);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(`${out}.tmp`, r.html);
  fs.renameSync(`${out}.tmp`, out);
  return r;
}
