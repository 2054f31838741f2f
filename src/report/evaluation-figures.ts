/**
 * The evaluation's pictures (PNG): test RMSE per model for every split, a density scatter of the
 * featured model against the hidden SMAP values, and the time series of the best-covered
 * stations (in situ, SMAP, the model). Drawn from what runEvaluation returns.
 */
import fs from "node:fs";
import path from "node:path";
import type { EvaluationOutcome } from "../eval/experiment.js";
import { modelLabel } from "../models/registry.js";
import { renderBars, renderDensityScatter, renderSeries } from "./charts.js";

/** Draws every figure into `dir`; returns the files. */
export function drawEvaluationFigures(dir: string, { result, figures }: EvaluationOutcome): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const save = (name: string, canvas: { save(file: string): void }) => {
    const file = path.join(dir, name.replace(/[^A-Za-z0-9_.-]/g, "_"));
    canvas.save(file);
    files.push(file);
  };
  for (const s of result.splits) {
    save(
      `rmse_${s.split}.png`,
      renderBars(
        `Test RMSE, ${s.split} split (95 % CI)`,
        s.models.map((m) => ({ label: modelLabel(m.model), value: m.test.rmse.value, low: m.test.rmse.ciLow, high: m.test.rmse.ciHigh })),
        "RMSE against the held-out SMAP values (m3/m3)",
      ),
    );
  }
  // The uncertainty's calibration for the featured model of the headline split.
  const headline = result.splits[0];
  const featured = headline?.models.find((m) => m.model === figures.scatter?.model)?.uncertainty;
  if (headline && featured)
    save(
      `calibration_${figures.scatter!.model}.png`,
      renderBars(
        `${modelLabel(figures.scatter!.model)}: share inside the 90 % interval, by distance to the nearest retrieval`,
        featured.byDistance.map((r) => ({ label: `${r.group} (${r.n})`, value: r.coverage90, low: r.coverage90, high: r.coverage90 })),
        "coverage of the 90 % interval (target 0.85-0.95)",
      ),
    );
  const sc = figures.scatter;
  if (sc)
    save(
      `scatter_${sc.model}_${sc.split}.png`,
      renderDensityScatter(`${modelLabel(sc.model)} on the ${sc.split} test set`, sc.reference, sc.estimate, "held-out SMAP (m3/m3)", "estimate (m3/m3)"),
    );
  const value = result.config.insituValue;
  for (const st of figures.stations) {
    save(
      `station_${st.network}_${st.station}.png`,
      renderSeries(
        `${st.network} ${st.station}: in situ, SMAP and ${modelLabel(st.model)}`,
        figures.dates,
        [
          { name: `in situ (${value})`, values: st.insitu, color: [110, 110, 110] },
          { name: modelLabel(st.model), values: st.estimate, color: [220, 120, 20] },
          { name: "SMAP", values: st.smap, color: [30, 90, 200], dots: true },
        ],
        "soil moisture (m3/m3)",
      ),
    );
  }
  return files;
}
