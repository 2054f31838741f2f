/**
 * Quick-look PNGs beside a run's outputs, drawn by the report's own renderer: the same Vega-Lite
 * specifications as the HTML report, rendered to SVG by vega and to PNG by resvg. One renderer
 * for every figure: the report, `evaluate`'s figures, `reconstruct`'s and the demo's maps.
 */
import path from "node:path";
import type { Ease2Grid, Window } from "../grid/ease2.js";
import type { CoverageSummary } from "../reconstruct/coverage.js";
import { bordersWithin } from "./borders.js";
import { dailySharesChart } from "./figure-specs.js";
import { mapChart, windowExtent } from "./map-figure.js";
import { svgToPng, writeFileAtomic } from "./raster.js";
import { renderFigure, type VegaLiteSpec } from "./vega.js";

/** Renders one specification to `file` (PNG); returns the file. */
export async function writeFigurePng(file: string, spec: VegaLiteSpec): Promise<string> {
  const f = await renderFigure(path.basename(file, ".png"), "", spec);
  writeFileAtomic(file, svgToPng(f.svg));
  return file;
}

interface MapLook {
  file: string;
  title: string;
  values: Float32Array;
  legend: string;
  domain?: [number, number];
  format: string;
  missingLabel: string;
}

/** Maps of one value per cell of a window, each as a PNG. */
export async function writeMaps(grid: Ease2Grid, window: Window, maps: MapLook[]): Promise<string[]> {
  const borders = bordersWithin(windowExtent(grid, window));
  const out: string[] = [];
  for (const m of maps)
    out.push(
      await writeFigurePng(
        m.file,
        mapChart({
          title: m.title,
          values: m.values,
          grid,
          window,
          legend: m.legend,
          domain: m.domain,
          format: m.format,
          borders,
          missingLabel: m.missingLabel,
        }),
      ),
    );
  return out;
}

/** A product's quick-looks: coverage before and after, the mean uncertainty, the daily coverage. */
export async function writeProductQuicklooks(dir: string, grid: Ease2Grid, window: Window, c: CoverageSummary): Promise<string[]> {
  const files = await writeMaps(grid, window, [
    {
      file: path.join(dir, "coverage_before.png"),
      title: "Share of days with a value: SMAP",
      values: c.perPixel.before,
      legend: "share of days",
      domain: [0, 1],
      format: ".0%",
      missingLabel: "not land",
    },
    {
      file: path.join(dir, "coverage_after.png"),
      title: "Share of days with a value: gap-free product",
      values: c.perPixel.after,
      legend: "share of days",
      domain: [0, 1],
      format: ".0%",
      missingLabel: "not land",
    },
    {
      file: path.join(dir, "uncertainty_mean.png"),
      title: "Mean uncertainty of the reconstructed values",
      values: c.meanUncertainty,
      legend: "m³/m³ (1 sigma)",
      format: ".3f",
      missingLabel: "none reconstructed",
    },
  ]);
  files.push(
    await writeFigurePng(
      path.join(dir, "coverage_daily_after.png"),
      dailySharesChart(
        "Share of land cells with a value per day",
        c.days,
        [
          { name: "SMAP (before)", values: c.perDay.before },
          { name: "product (after)", values: c.perDay.after },
        ],
        "share of land cells",
      ),
    ),
  );
  return files;
}

/** SMAP's own coverage of a cube (before any gap filling): per cell and per day. */
export async function writeSmapCoverageQuicklooks(
  o: { mapFile: string; chartFile: string; subtitle: string },
  grid: Ease2Grid,
  window: Window,
  perCell: Float32Array,
  perDay: ArrayLike<number>,
  dates: string[],
): Promise<string[]> {
  const [map] = await writeMaps(grid, window, [
    {
      file: o.mapFile,
      title: `SMAP coverage: share of days observed (${o.subtitle})`,
      values: perCell,
      legend: "share of days",
      domain: [0, 1],
      format: ".0%",
      missingLabel: "never observed",
    },
  ]);
  const chart = await writeFigurePng(
    o.chartFile,
    dailySharesChart("SMAP coverage per day", dates, [{ name: "SMAP", values: Array.from(perDay) }], "share of land cells"),
  );
  return [map!, chart];
}
