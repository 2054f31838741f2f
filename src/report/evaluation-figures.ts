/**
 * The evaluation's quick-look figures (PNG, through the report's renderer: the same Vega-Lite
 * specifications as the HTML report): test RMSE per model for every split, the calibration of the
 * featured model's 90 % interval, a density plot of its estimates against the hidden SMAP
 * values, and the series of the best-covered stations (in situ, SMAP, the model).
 */
import path from "node:path";
import type { EvaluationOutcome } from "../eval/experiment.js";
import { modelLabel } from "../models/registry.js";
import { densityGrid } from "./figure-data.js";
import { barChart, densityChart, seriesChart } from "./figure-specs.js";
import { writeFigurePng } from "./quicklooks.js";

const list = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));

/** Draws every figure into `dir`; returns the files. */
export async function drawEvaluationFigures(dir: string, { result, figures }: EvaluationOutcome): Promise<string[]> {
  const files: string[] = [];
  const save = async (name: string, spec: Parameters<typeof writeFigurePng>[1]) =>
    files.push(await writeFigurePng(path.join(dir, name.replace(/[^A-Za-z0-9_.-]/g, "_")), spec));
  for (const s of result.splits)
    await save(
      `rmse_${s.split}.png`,
      barChart(
        `Test RMSE, ${s.split} split (95 % CI)`,
        s.models.map((m) => ({ label: modelLabel(m.model), value: m.test.rmse.value, low: m.test.rmse.ciLow, high: m.test.rmse.ciHigh })),
        "RMSE against the held-out SMAP values (m³/m³)",
      ),
    );
  // The uncertainty's calibration for the featured model of the headline split.
  const headline = result.splits[0];
  const sc = figures.scatter;
  const featured = headline?.models.find((m) => m.model === sc?.model)?.uncertainty;
  if (sc && featured)
    await save(
      `calibration_${sc.model}.png`,
      barChart(
        `${modelLabel(sc.model)}: share inside the 90 % interval`,
        [...featured.byKind, ...featured.byDistance.filter((r) => r.group !== "all")].map((r) => ({ label: `${r.group} (${r.n})`, value: r.coverage90 })),
        "share inside the 90 % interval (target 85-95 %)",
        { domain: [0.5, 1], band: [0.85, 0.95], format: ".1%" },
      ),
    );
  if (sc)
    await save(
      `scatter_${sc.model}_${sc.split}.png`,
      densityChart(`${modelLabel(sc.model)} on the ${sc.split} test set`, densityGrid(sc.reference, sc.estimate), "held-out SMAP", modelLabel(sc.model)),
    );
  const value = result.config.insituValue;
  for (const st of figures.stations)
    await save(
      `station_${st.network}_${st.station}.png`,
      seriesChart({
        title: `${st.network} ${st.station}: in situ, SMAP and ${modelLabel(st.model)}`,
        dates: figures.dates,
        insitu: list(st.insitu),
        smap: list(st.smap),
        estimate: list(st.estimate),
        sigma: st.sigma && list(st.sigma),
        estimateLabel: modelLabel(st.model),
        insituLabel: `in situ (${value})`,
      }),
    );
  return files;
}
