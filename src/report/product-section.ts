/**
 * The report's first section: the product. Coverage before and after, how good the product is
 * (its model on held-out simulated gaps, every section of the product's assessment, the product
 * against in situ on gap days), its calibration, the caveats a user must know (days it could not
 * fill, frozen ground, extrapolation), then the coverage maps. Scores against in situ come as
 * pooled RMSE (every station-day once) and as the mean of the per-station RMSEs (every station
 * once), always labelled as such.
 */
import type { AssessmentSection } from "../reconstruct/assessment.js";
import { INSITU_SECTION_ID, PAPER_INSITU } from "../reconstruct/insitu-assessment.js";
import type { WithoutDynamicCalibration } from "../reconstruct/without-predictors.js";
import { MIN_STATION_DAYS, type ScoreSummary } from "../reconstruct/product-stations.js";
import { SOURCE_FLAGS } from "../reconstruct/reconstruct.js";
import { modelLabel } from "../models/registry.js";
import { bordersWithin } from "./borders.js";
import { dailySharesChart } from "./figure-specs.js";
import { fmt, pct } from "./format.js";
import { esc, table } from "./html.js";
import { landCoverName } from "./land-cover.js";
import { mapChart, windowExtent } from "./map-figure.js";
import type { ProductRun } from "./report-inputs.js";
import type { VegaLiteSpec } from "./vega.js";

type Add = (id: string, caption: string, spec: VegaLiteSpec) => Promise<string>;

const n = (v: number) => v.toLocaleString("en");

/** Runs of dates as "from to to (N days)", at most `max` runs listed. */
export function dateRuns(dates: string[], max = 4): string {
  const out: { from: string; to: string; n: number }[] = [];
  for (const d of [...dates].sort()) {
    const last = out.at(-1);
    if (last && Date.parse(d) - Date.parse(last.to) === 86400000) ((last.to = d), last.n++);
    else out.push({ from: d, to: d, n: 1 });
  }
  const text = out.slice(0, max).map((r) => (r.n === 1 ? r.from : `${r.from} to ${r.to} (${r.n} days)`));
  return `${text.join(", ")}${out.length > max ? `, and ${out.length - max} more runs` : ""}`;
}

function assessmentTable(s: AssessmentSection): string {
  const inside = s.rows.some((r) => r.inside90 !== undefined);
  const ub = s.rows.some((r) => r.ubrmse !== undefined);
  const anomaly = s.rows.some((r) => r.anomalyR !== undefined);
  return [
    `<p>${esc(s.description)}</p>`,
    table(
      [
        "",
        esc(s.countLabel ?? "pixel-days"),
        "RMSE",
        ...(ub ? ["ubRMSE"] : []),
        "bias",
        "R",
        ...(anomaly ? ["anomaly R"] : []),
        ...(inside ? [`${esc(s.reference)} inside the 90 % interval`] : []),
      ],
      s.rows.map((r) => [
        esc(r.label).replace(/^ +/, (m) => "&nbsp;".repeat(2 * m.length)),
        n(r.n),
        fmt(r.rmse),
        ...(ub ? [fmt(r.ubrmse)] : []),
        fmt(r.bias),
        fmt(r.r, 3),
        ...(anomaly ? [fmt(r.anomalyR, 3)] : []),
        ...(inside ? [r.inside90 === undefined ? "" : pct(r.inside90)] : []),
      ]),
      { caption: `${esc(s.title)} (m³/m³)` },
    ),
  ].join("\n");
}

/** The fill rule for pixel-days without dynamic predictors, as the product model recorded it (reconstruct's attribute). */
function withoutDynamicNote(attribute: unknown): string | undefined {
  if (typeof attribute !== "string") return undefined;
  const c = JSON.parse(attribute) as WithoutDynamicCalibration | null;
  if (!c?.fill) return undefined;
  return `<b>Days without dynamic predictors</b> are filled (flag ${SOURCE_FLAGS.reconstructed_without_dynamic_predictors}, <code>reconstructed_without_dynamic_predictors</code>): the product model was measured on ${n(c.rows)} such held-out gaps (RMSE ${fmt(c.rmse)}, against ${fmt(c.rmseOthers)} on the others), and their uncertainty is scaled by ${fmt(c.sigmaScale, 3)} to hold 90 % of those errors.`;
}

export async function productSection(p: ProductRun, add: Add): Promise<string> {
  const { product, coverage: c } = p;
  const model = String(product.attributes.model ?? "?");
  const pixelDays = p.summary?.report?.pixelDays;
  // Frozen days masked (--frozen mask) are counted apart from the days without predictors.
  const notFilled = pixelDays?.notFilled !== undefined ? pixelDays.notFilled - (pixelDays.frozenMasked ?? 0) : undefined;
  const unfilledDays = c.days.filter((_, t) => c.perDay.after[t]! < 1 - 1e-9);
  const parts: string[] = [
    `<p class="headline">Land pixel-days with a value: <b>${pct(c.overall.before)}</b> with SMAP alone, <b>${pct(c.overall.after)}</b> in the gap-free product (${n(c.overall.landPixelDays)} land pixel-days, ${esc(product.start)} + ${product.days} days). Made by <b>${esc(modelLabel(model))}</b> (<code>${esc(product.attributes.model_dir ?? "")}</code>).</p>`,
  ];

  // How good is it: the product model on held-out simulated gaps, then every assessment section.
  parts.push("<h3>How good is the product</h3>");
  const fit = p.fit;
  const metric = (k: string) => {
    const v = fit?.calibration_metrics?.[k];
    return typeof v === "number" ? v : v?.value;
  };
  const all = fit?.calibration_coverage?.find((r) => r.group === "all");
  if (fit?.calibration_metrics)
    parts.push(
      `<p>On simulated gaps (observed SMAP values the product model never saw, held out as swath stripes, blocks and runs of days): how well it fills gaps where SMAP could retrieve.</p>`,
      table(
        ["", "pixel-days", "RMSE", "bias", "R", "hidden SMAP inside the 90 % interval"],
        [
          [
            "the product model on its calibration gaps",
            n(Number(metric("n") ?? 0)),
            fmt(metric("rmse")),
            fmt(metric("bias")),
            fmt(metric("r"), 3),
            all ? pct(all.coverage90) : "-",
          ],
        ],
        { caption: "Against the hidden SMAP values (m³/m³)" },
      ),
    );
  const st = p.atStations;
  // The in-situ scores are recomputed below from the stations (the same function); the recorded section is not shown twice.
  for (const s of p.assessment?.sections ?? []) if (!(st?.stations.length && s.id === INSITU_SECTION_ID)) parts.push(assessmentTable(s));
  if (st?.stations.length) {
    const cells = (label: string, a: ScoreSummary, stations?: number) => [
      label,
      n(a.n),
      fmt(a.rmse),
      fmt(a.ubrmse),
      fmt(a.bias),
      fmt(a.r, 3),
      fmt(a.anomalyR, 3),
      stations === undefined ? "" : String(stations),
    ];
    parts.push(
      `<p>At the ${st.stations.length} ISMN stations inside the product: the product on the days SMAP missed (gap days) and SMAP on the days it observed, against the stations' daily values. <i>Pooled</i>: every station-day counts once; <i>mean over stations</i>: each metric averaged over the stations with at least ${MIN_STATION_DAYS} days, every station once (the paper's headline, ${esc(PAPER_INSITU.citation)}: mean RMSE ${PAPER_INSITU.meanRmse} m³/m³ against in situ). Anomaly R: R of the departures from each series' 35-day moving average.</p>`,
      table(
        ["", "station-days", "RMSE", "ubRMSE", "bias", "R", "anomaly R", "stations"],
        [
          cells("the product on gap days, pooled", st.product.pooled),
          cells("the product on gap days, mean over stations", st.product.stationMean, st.product.stations),
          cells("SMAP on its observed days, pooled", st.smap.pooled),
          cells("SMAP on its observed days, mean over stations", st.smap.stationMean, st.smap.stations),
          [`${esc(PAPER_INSITU.citation)}: mean over stations`, "", fmt(PAPER_INSITU.meanRmse, 2), "", "", "", "", ""],
        ],
        { caption: "Against in situ (m³/m³)" },
      ),
    );
  }

  // Caveats.
  const caveats: string[] = [];
  if (unfilledDays.length)
    caveats.push(
      `<b>Days not filled</b>: ${notFilled !== undefined ? `${n(notFilled)} land pixel-days` : "land pixel-days"} on ${unfilledDays.length} days have no value because every predictor is missing there (flag ${SOURCE_FLAGS.not_filled_missing_predictors}, <code>not_filled_missing_predictors</code>): ${esc(dateRuns(unfilledDays))}. Series and maps leave them empty.`,
    );
  const policy = product.attributes.frozen_policy;
  const frozenDays =
    policy === "mask"
      ? ` This product leaves them empty (${pixelDays?.frozenMasked !== undefined ? `${n(pixelDays.frozenMasked)} land pixel-days, ` : ""}flag ${SOURCE_FLAGS.not_filled_frozen}, <code>not_filled_frozen</code>).`
      : policy === "fill"
        ? ` This product fills them with their own flag (${pixelDays?.frozenFilled !== undefined ? `${n(pixelDays.frozenFilled)} land pixel-days, ` : ""}flag ${SOURCE_FLAGS.reconstructed_frozen}, <code>reconstructed_frozen</code>) and a wider uncertainty set without any truth: ${esc(String(product.attributes.frozen_uncertainty_method ?? ""))}.`
        : "";
  const without = withoutDynamicNote(product.attributes.without_dynamic_predictors);
  if (without) caveats.push(without);
  caveats.push(
    `<b>Frozen ground and snow</b>: SMAP does not retrieve there, so many real gaps are winter days unlike any training row (training rows are days SMAP observed). Simulated gaps cannot show this; where a truth is known (the demo) the product is worse and biased there.${frozenDays}`,
  );
  const truthInside = p.assessment?.sections.flatMap((s) => s.rows.filter((r) => r.inside90 !== undefined).map((r) => ({ s, r })))[0];
  if (all)
    caveats.push(
      `<b>Uncertainty</b>: the 90 % interval holds ${pct(all.coverage90)} of the hidden SMAP values on simulated gaps (target 85-95 %)${truthInside ? `, and ${pct(truthInside.r.inside90)} of the ${esc(truthInside.s.reference)} on the reconstructed pixel-days` : ""}. Observed values carry no modelled uncertainty (SMAP's own target accuracy is 0.04 m³/m³).`,
    );
  for (const w of p.summary?.report?.warnings ?? [])
    caveats.push(`<b>Extrapolation</b>: ${esc(w)} (the model sees predictor values it was not trained on; its estimates there are extrapolations).`);
  parts.push(`<h3>Caveats</h3><ul class="caveats">${caveats.map((c) => `<li>${c}</li>`).join("")}</ul>`);

  // Coverage maps and the daily coverage.
  const e = windowExtent(product.grid, product.window);
  const borders = bordersWithin(e);
  const map = (id: string, t: string, values: Float32Array, legend: string, domain: [number, number] | undefined, format: string, caption: string) =>
    add(id, caption, mapChart({ title: t, values, grid: product.grid, window: product.window, legend, domain, format, borders, missingLabel: "outside land" }));
  parts.push(
    "<h3>Coverage before and after</h3>",
    `<div class="grid2">`,
    await map(
      "coverage-before",
      "Before: SMAP alone",
      c.perPixel.before,
      "share of days",
      [0, 1],
      ".0%",
      "Share of days with a SMAP retrieval, per land cell.",
    ),
    await map(
      "coverage-after",
      "After: the gap-free product",
      c.perPixel.after,
      "share of days",
      [0, 1],
      ".0%",
      "Share of days with a value in the product (SMAP or reconstructed).",
    ),
    await map(
      "uncertainty-map",
      "Mean uncertainty",
      c.meanUncertainty,
      "m³/m³ (1 sigma)",
      undefined,
      ".3f",
      "Mean one-sigma uncertainty of each cell's reconstructed values (m³/m³); cells SMAP always saw have none.",
    ),
    `</div>`,
    await add(
      "coverage-daily",
      "Share of land cells with a value on each day, before (SMAP) and after (product). Drag or scroll to zoom the time axis; double-click to reset.",
      dailySharesChart(
        "Daily coverage of land cells",
        c.days,
        [
          { name: "SMAP (before)", values: c.perDay.before },
          { name: "product (after)", values: c.perDay.after },
        ],
        "share of land cells",
      ),
    ),
  );
  if (c.perClass.length)
    parts.push(
      table(
        ["land cover (dominant class)", "cells", "before", "after"],
        c.perClass.map((r) => [esc(landCoverName(r.class)), String(r.pixels), pct(r.before), pct(r.after)]),
        { caption: "Coverage per land-cover class" },
      ),
    );
  return parts.join("\n");
}
