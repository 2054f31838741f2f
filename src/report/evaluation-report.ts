/**
 * The evaluation's outputs: evaluation.json (everything, for other tools), CSV tables
 * (metrics.csv, insitu.csv, insitu_stations.csv, importance.csv) and report.md with the
 * paper-style tables. Every file is written to a temporary name and renamed.
 */
import fs from "node:fs";
import path from "node:path";
import type { EvaluationOutcome, EvaluationResult } from "../eval/experiment.js";
import type { InsituScores } from "../eval/insitu.js";
import type { CoverageRow } from "../eval/uncertainty.js";
import { METRIC_NAMES, type Metrics } from "../eval/metrics.js";
import { modelLabel, resolveParams } from "../models/registry.js";
import { drawEvaluationFigures } from "./evaluation-figures.js";
import { FIGURE_DATA_FILE, figureData } from "./figure-data.js";
import { fmt, pct } from "./format.js";

function write(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

function csv(rows: (string | number | undefined)[][]): string {
  const cell = (v: string | number | undefined) => {
    if (v === undefined || (typeof v === "number" && Number.isNaN(v))) return "";
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `${rows.map((r) => r.map(cell).join(",")).join("\n")}\n`;
}

const metricColumns = (prefix = "") => ["n", ...METRIC_NAMES.flatMap((k) => [`${prefix}${k}`, `${prefix}${k}_ci_low`, `${prefix}${k}_ci_high`])];
const metricCells = (m: Metrics) => [m.n, ...METRIC_NAMES.flatMap((k) => [m[k].value, m[k].ciLow, m[k].ciHigh])];

function withCi(m: Metrics, k: (typeof METRIC_NAMES)[number], digits = 4): string {
  const v = m[k];
  return Number.isNaN(v.ciLow) ? fmt(v.value, digits) : `${fmt(v.value, digits)} [${fmt(v.ciLow, digits)}, ${fmt(v.ciHigh, digits)}]`;
}

function metricsTable(rows: { label: string; m: Metrics; extra?: string[] }[], extraHeads: string[] = []): string[] {
  const head = ["", "N", "RMSE [95 % CI]", "ubRMSE", "bias", "R", "MAE", ...extraHeads];
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows
      .map(({ label, m, extra }) =>
        [label, String(m.n), withCi(m, "rmse"), fmt(m.ubrmse.value), fmt(m.bias.value), fmt(m.r.value, 3), fmt(m.mae.value), ...(extra ?? [])].join(" | "),
      )
      .map((r) => `| ${r} |`),
  ];
}

function insituRows(label: string, s: InsituScores) {
  return { label, m: s.pooled, extra: [`${fmt(s.stationMean.rmse)} / ${fmt(s.stationMean.ubrmse)} (${s.stationMean.stations})`] };
}

/**
 * Test RMSE per model and gap kind (swath stripe, block, run of days), where the split has kinds:
 * the kinds and, per model with an uncertainty, its label and formatted RMSEs (Markdown and HTML).
 */
export function gapKindRmse(models: EvaluationResult["splits"][number]["models"]): { kinds: string[]; rows: { label: string; cells: string[] }[] } | undefined {
  const kinds = [...new Set(models.flatMap((m) => m.uncertainty?.byKind.map((k) => k.group) ?? []))].filter((k) => k !== "all");
  if (!kinds.length) return undefined;
  const rows = models
    .filter((m) => m.uncertainty)
    .map((m) => ({ label: modelLabel(m.model), cells: kinds.map((k) => fmt(m.uncertainty!.byKind.find((x) => x.group === k)?.rmse)) }));
  return { kinds, rows };
}

function rmseByKind(models: EvaluationResult["splits"][number]["models"]): string[] | undefined {
  const t = gapKindRmse(models);
  if (!t) return undefined;
  const head = ["model", ...t.kinds.map((k) => `${k} RMSE`)];
  return [
    "Test RMSE by gap kind (m3/m3):",
    "",
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...t.rows.map((r) => `| ${[r.label, ...r.cells].join(" | ")} |`),
  ];
}

export function renderMarkdown(r: EvaluationResult): string {
  const c = r.config;
  const lines = [
    `# smapfill evaluation`,
    "",
    `Cube \`${r.cube.path}\`: ${r.cube.window.nrows} x ${r.cube.window.ncols} cells, ${r.cube.days} days from ${r.cube.start}; ${r.cube.features.length} features ` +
      `(${["dynamic", "static", "calendar", "ts"].map((g) => `${r.cube.groups.filter((x) => x === g).length} ${g}`).join(", ")}).`,
    `smapfill ${r.run.smapfill}${r.run.commit ? ` (${r.run.commit.slice(0, 10)})` : ""}, Node ${r.run.node}, seed ${c.seed}; ${r.seconds.toFixed(0)} s.`,
    `Settings: test share ${c.testShare}, validation share ${c.validationShare}, at most ${c.maxTrainSamples} training samples, ${c.nBoot} bootstrap resamples of whole test days for the 95 % CIs (a day's errors share its weather and gaps).`,
    "",
    "| model | hyperparameters |",
    "|---|---|",
    ...c.models.map((m) => `| ${modelLabel(m)} | ${paramText(m, c.params)} |`),
    "",
  ];
  if (r.warnings?.length) lines.push("## Problems found", "", ...r.warnings.map((w) => `- ${w}`), "");
  for (const s of r.splits) {
    lines.push(`## Held-out SMAP: ${s.description}`, "");
    lines.push(`Samples: ${s.samples.train} training, ${s.samples.validation} validation, ${s.samples.test} test (m3/m3 against the hidden SMAP values).`, "");
    const ref = s.reference;
    lines.push(
      ...metricsTable(
        s.models.map((m) => ({
          label: modelLabel(m.model),
          m: m.test,
          extra: [...(ref ? [m.model === ref ? "-" : pct(m.referenceRmseReduction)] : []), m.trainSeconds.toFixed(1)],
        })),
        [...(ref ? [`${modelLabel(ref)}'s RMSE reduction`] : []), "train s"],
      ),
      "",
    );
    const byKind = rmseByKind(s.models);
    if (byKind) lines.push(...byKind, "");
    for (const a of s.ablations)
      lines.push(
        `${modelLabel(a.with)} against ${modelLabel(a.without)} (what the left-out group brings): ${a.rmseReduction >= 0 ? "RMSE lower by" : "RMSE higher by"} ${pct(Math.abs(a.rmseReduction))}${
          a.rmseDifference
            ? `; RMSE difference ${fmt(a.rmseDifference.value)} m3/m3, paired bootstrap 95 % CI [${fmt(a.rmseDifference.ciLow)}, ${fmt(a.rmseDifference.ciHigh)}]${a.rmseDifference.ciHigh < 0 ? " (better beyond chance)" : a.rmseDifference.ciLow > 0 ? " (worse beyond chance)" : " (within chance)"}`
            : ""
        }.`,
        "",
      );
    if (s.withoutTs.length) {
      lines.push(
        "Time-series ablation for other models (the same rows without the ts group):",
        "",
        ...metricsTable(
          s.withoutTs.map((m) => ({ label: `${modelLabel(m.model)} without ts`, m: m.test, extra: [pct(m.tsRmseReduction)] })),
          ["RMSE reduction by the ts features"],
        ),
        "",
      );
    }
    const calibrated = s.models.filter((m) => m.uncertainty);
    if (calibrated.length) {
      const kinds = [...new Set(calibrated.flatMap((m) => m.uncertainty!.byKind.map((r) => r.group)))];
      lines.push(
        "Uncertainty: share of the hidden SMAP values inside each model's 90 % interval (+-1.645 sigma; residual model fitted on the calibration gaps, by distance to the nearest retrieval, season and missing reason). Target 85-95 %. Interval (Winkler) score of the 90 % interval: its width plus 20 x the miss of every value outside, m3/m3, lower is better.",
        "",
        `| model | ${kinds.join(" | ")} | mean sigma | interval score |`,
        `|---|${kinds.map(() => "---").join("|")}|---|---|`,
        ...calibrated.map((m) => {
          const u = m.uncertainty!;
          const cell = (g: string) => {
            const r = u.byKind.find((x) => x.group === g);
            return r ? `${pct(r.coverage90)} (${r.n})` : "-";
          };
          return `| ${modelLabel(m.model)} | ${kinds.map(cell).join(" | ")} | ${fmt(u.byKind[0]!.meanSigma)} | ${fmt(u.byKind[0]!.winkler90)} |`;
        }),
        "",
      );
      const featured = calibrated.find((m) => m.model === ref) ?? calibrated[0]!;
      lines.push(
        `${modelLabel(featured.model)} by distance to the pixel's nearest SMAP retrieval:`,
        "",
        "| distance | N | coverage of the 90 % interval | mean sigma | RMSE | interval score | transplanted gaps: N | coverage | mean sigma | RMSE |",
        "|---|---|---|---|---|---|---|---|---|---|",
        ...featured.uncertainty!.byDistance.map((r) => {
          const t = featured.uncertainty!.byDistanceTransplanted?.find((x) => x.group === (r.group === "all" ? "transplanted" : r.group));
          const tc = t ? `${t.n} | ${pct(t.coverage90)} | ${fmt(t.meanSigma)} | ${fmt(t.rmse)}` : "- | - | - | -";
          return `| ${r.group} | ${r.n} | ${pct(r.coverage90)} | ${fmt(r.meanSigma)} | ${fmt(r.rmse)} | ${fmt(r.winkler90)} | ${tc} |`;
        }),
        "",
      );
      const spread = featured.uncertainty!.bySpread;
      if (spread?.length)
        lines.push(
          `${modelLabel(featured.model)} by tercile of its members' spread: ${spread.map((r) => `${r.group} ${pct(r.coverage90)} (sigma ${fmt(r.meanSigma)}, RMSE ${fmt(r.rmse)}, N ${r.n})`).join(", ")}.`,
          "",
        );
      const withReasons = calibrated.filter((m) => m.uncertainty!.byReason?.length);
      if (withReasons.length) {
        const reasons = [...new Set(withReasons.flatMap((m) => m.uncertainty!.byReason!.map((r) => r.group)))];
        const n = (g: string) => withReasons[0]!.uncertainty!.byReason!.find((r) => r.group === g)?.n ?? 0;
        lines.push(
          "Transplanted gaps (SMAP's own masks of other days laid over observed days) by why SMAP missed the donor day, test RMSE (m3/m3; N rows):",
          "",
          `| model | ${reasons.map((g) => `${g} (${n(g)})`).join(" | ")} |`,
          `|---|${reasons.map(() => "---").join("|")}|`,
          ...withReasons.map(
            (m) => `| ${modelLabel(m.model)} | ${reasons.map((g) => fmt(m.uncertainty!.byReason!.find((r) => r.group === g)?.rmse)).join(" | ")} |`,
          ),
          "",
          `${modelLabel(featured.model)}: coverage of the 90 % interval on transplanted gaps by reason: ${(featured.uncertainty!.byReason ?? []).map((r) => `${r.group} ${pct(r.coverage90)} (sigma ${fmt(r.meanSigma)})`).join(", ")}.`,
          "",
        );
      }
    }
    const others = s.models.filter((m) => m.model !== ref && m.referenceRmseReduction !== undefined);
    if (ref && others.length) {
      const mean = others.reduce((a, m) => a + m.referenceRmseReduction!, 0) / others.length;
      const best = [...s.models].sort((a, b) => a.test.rmse.value - b.test.rmse.value)[0]!;
      lines.push(`Mean RMSE reduction of ${modelLabel(ref)} against the other models: ${pct(mean)}. Lowest RMSE: ${modelLabel(best.model)}.`, "");
    }
  }
  if (r.insitu) {
    const i = r.insitu;
    lines.push(
      `## In situ (${i.value} values)`,
      "",
      `${i.stationsInside} station series inside the cube (of ${i.stationsRead} read from \`${i.source}\`; ${i.failures.length} files failed). ` +
        "Pooled metrics over all station-days; last column: mean of the per-station RMSE / ubRMSE (stations with >= 10 pairs).",
      "",
      ...(i.failures.length ? ["ISMN files not read:", "", ...i.failures.map((f) => `- \`${f.file}\`: ${f.error}`), ""] : []),
      ...((i.implausible ?? []).length
        ? ["Values flagged good but outside [0, 0.8] m3/m3, dropped:", "", ...i.implausible.map((d) => `- ${d.station} (\`${d.file}\`): ${d.dropped}`), ""]
        : []),
      ...metricsTable([insituRows("SMAP (original)", i.smap)], ["station mean RMSE / ubRMSE (stations)"]),
      "",
      "Reconstruction on days with a SMAP retrieval, and on gap days (no retrieval):",
      "",
      ...metricsTable(
        i.models.flatMap((m) => [insituRows(`${modelLabel(m.model)}, observed days`, m.observed), insituRows(`${modelLabel(m.model)}, gap days`, m.gap)]),
        ["station mean RMSE / ubRMSE (stations)"],
      ),
      "",
    );
  }
  for (const imp of r.importance) {
    lines.push(
      `## Permutation importance: ${modelLabel(imp.model)}`,
      "",
      `Increase of test RMSE when a feature (or a whole group) is shuffled; ${imp.rows} test samples, baseline RMSE ${fmt(imp.result.baselineRmse)}.`,
      "",
      "| group | RMSE increase | sd |",
      "|---|---|---|",
      ...imp.result.groups.map((g) => `| ${g.name} | ${fmt(g.rmseIncrease, 5)} | ${fmt(g.sd, 5)} |`),
      "",
      "| feature (top 15) | RMSE increase | sd |",
      "|---|---|---|",
      ...imp.result.features.slice(0, 15).map((g) => `| ${g.name} | ${fmt(g.rmseIncrease, 5)} | ${fmt(g.sd, 5)} |`),
      "",
    );
  }
  if (r.figures.length) {
    lines.push("## Figures", "");
    for (const f of r.figures) lines.push(`![${path.basename(f, ".png")}](figures/${path.basename(f)})`);
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}

/** A model's hyperparameters as the evaluation resolved them. */
function paramText(model: string, params: Record<string, number>): string {
  return Object.entries(resolveParams(model, params))
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

/** Draws the figures and writes every output of an evaluation into `out`; returns the files. */
export async function writeEvaluation(out: string, outcome: EvaluationOutcome): Promise<string[]> {
  const r = outcome.result;
  fs.mkdirSync(out, { recursive: true });
  r.figures = await drawEvaluationFigures(path.join(out, "figures"), outcome);
  const files: string[] = [];
  const put = (name: string, text: string) => {
    const file = path.join(out, name);
    write(file, text);
    files.push(file);
  };
  put("evaluation.json", `${JSON.stringify(r, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
  put(FIGURE_DATA_FILE, `${JSON.stringify(figureData(outcome.figures))}\n`);
  put(
    "metrics.csv",
    csv([
      ["split", "model", ...metricColumns(), "reference", "reference_rmse_reduction", "train_s", "train_rows"],
      ...r.splits.flatMap((s) => [
        ...s.models.map((m) => [s.split, m.model, ...metricCells(m.test), s.reference, m.referenceRmseReduction, m.trainSeconds, m.trainRows]),
        ...s.withoutTs.map((m) => [s.split, `${m.model}-without-ts`, ...metricCells(m.test), undefined, undefined, m.trainSeconds, s.samples.train]),
      ]),
    ]),
  );
  if (r.insitu) {
    const i = r.insitu;
    put(
      "insitu.csv",
      csv([
        ["estimate", "days", ...metricColumns(), "station_mean_rmse", "station_mean_ubrmse", "stations"],
        ["smap", "observed", ...metricCells(i.smap.pooled), i.smap.stationMean.rmse, i.smap.stationMean.ubrmse, i.smap.stationMean.stations],
        ...i.models.flatMap((m) =>
          (["observed", "gap"] as const).map((k) => [
            m.model,
            k,
            ...metricCells(m[k].pooled),
            m[k].stationMean.rmse,
            m[k].stationMean.ubrmse,
            m[k].stationMean.stations,
          ]),
        ),
      ]),
    );
    put(
      "insitu_stations.csv",
      csv([
        ["network", "station", "pixel", "estimate", "days", "n", "rmse", "ubrmse", "r"],
        ...i.smap.perStation.map((s) => [s.network, s.station, s.pixel, "smap", "observed", s.n, s.rmse, s.ubrmse, s.r]),
        ...i.models.flatMap((m) =>
          (["observed", "gap"] as const).flatMap((k) => m[k].perStation.map((s) => [s.network, s.station, s.pixel, m.model, k, s.n, s.rmse, s.ubrmse, s.r])),
        ),
      ]),
    );
  }
  put(
    "uncertainty.csv",
    csv([
      ["split", "model", "by", "group", "n", "coverage90", "mean_sigma", "rmse", "winkler90"],
      ...r.splits.flatMap((s) =>
        s.models.flatMap((m) => {
          const u = m.uncertainty;
          if (!u) return [];
          const rows = (by: string, table: CoverageRow[] | undefined) =>
            (table ?? []).map((c) => [s.split, m.model, by, c.group, c.n, c.coverage90, c.meanSigma, c.rmse, c.winkler90]);
          return [
            ...rows("kind", u.byKind),
            ...rows("distance", u.byDistance),
            ...rows("transplanted_distance", u.byDistanceTransplanted),
            ...rows("transplanted_reason", u.byReason),
            ...rows("spread_tercile", u.bySpread),
          ];
        }),
      ),
    ]),
  );
  if (r.importance.length)
    put(
      "importance.csv",
      csv([
        ["model", "kind", "name", "rmse_increase", "sd"],
        ...r.importance.flatMap((imp) => [
          ...imp.result.groups.map((g) => [imp.model, "group", g.name, g.rmseIncrease, g.sd]),
          ...imp.result.features.map((g) => [imp.model, "feature", g.name, g.rmseIncrease, g.sd]),
        ]),
      ]),
    );
  put("report.md", renderMarkdown(r));
  return [...files, ...r.figures];
}
