/**
 * The one figure renderer: a Vega-Lite specification to SVG (vega) and PNG (resvg) with its text
 * drawn, raster layers coloured by vega's own scheme, and series that break at missing days.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { decode } from "fast-png";
import * as vega from "vega";
import { barChart, dayRuns, segments, seriesChart } from "../../src/report/figure-specs.js";
import { writeFigurePng } from "../../src/report/quicklooks.js";
import { schemeColor, svgToPng } from "../../src/report/raster.js";
import { renderFigure } from "../../src/report/vega.js";
import { dateRuns } from "../../src/report/product-section.js";
import { landCoverName } from "../../src/report/land-cover.js";
import { tempDir } from "../helpers.js";

test("a quick-look PNG is the report's figure, text included (resvg with the system's DejaVu Sans)", async () => {
  const file = path.join(tempDir(), "rmse.png");
  const spec = barChart(
    "Test RMSE",
    [
      { label: "XGBoost", value: 0.035, low: 0.034, high: 0.036 },
      { label: "TsSMNet", value: 0.042 },
    ],
    "RMSE (m³/m³)",
  );
  await writeFigurePng(file, spec);
  const png = decode(fs.readFileSync(file));
  const svg = (await renderFigure("x", "", spec)).svg;
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  assert.equal(png.width, 2 * width, "rendered at twice the SVG's size");
  // Text: dark anti-aliased pixels in the label column left of the bars, where only text is drawn.
  let dark = 0;
  for (let y = 0; y < png.height; y++)
    for (let x = 0; x < 80; x++) {
      const k = (y * png.width + x) * png.channels;
      if (png.data[k]! < 90 && png.data[k + 1]! < 90 && png.data[k + 2]! < 90) dark++;
    }
  assert.ok(dark > 100, `${dark} dark pixels of label text`);
  // Bars in the spec's colour.
  let bar = 0;
  for (let k = 0; k < png.data.length; k += png.channels) if (png.data[k] === 0x3b && png.data[k + 1] === 0x52 && png.data[k + 2] === 0x8b) bar++;
  assert.ok(bar > 1000, `${bar} bar pixels`);
  assert.ok(svgToPng(svg, 1).length > 1000);
});

test("raster colours are vega's viridis, so a map and its legend agree", () => {
  const viridis = vega.scheme("viridis") as (t: number) => string;
  for (const t of [0, 0.25, 0.5, 1]) assert.equal(`rgb(${schemeColor(t).join(", ")})`, viridis(Math.round(t * 255) / 255));
});

test("series break at every missing day: segments, shaded runs, and no line data across a gap", async () => {
  assert.deepEqual(segments([1, 2, null, 3, NaN, 4, 5]), [0, 0, null, 1, null, 2, 2]);
  const dates = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05"];
  assert.deepEqual(
    dayRuns(dates, (t) => t === 1 || t === 2),
    [{ from: "2020-01-02", to: "2020-01-04" }],
  );
  const spec = seriesChart({
    title: "",
    dates,
    smap: [0.1, null, null, null, 0.2],
    estimate: [0.1, null, null, 0.15, 0.2],
    sigma: [null, null, null, 0.01, null],
    estimateLabel: "product",
  });
  const layers = (spec as unknown as { layer: { data: { values: Record<string, unknown>[] } }[] }).layer;
  const series = (layers[3]!.data.values as { series: string; seg: string; date: string }[]).filter((r) => r.series === "product");
  assert.deepEqual(
    series.map((r) => [r.date, r.seg]),
    [
      ["2020-01-01", "product:0"],
      ["2020-01-04", "product:1"],
      ["2020-01-05", "product:1"],
    ],
  );
  assert.deepEqual(layers[1]!.data.values, [{ from: "2020-01-02", to: "2020-01-04" }], "the unfilled days shaded");
  assert.ok((await renderFigure("s", "", spec)).svg.includes("<path"));
});

test("date lists as runs; land-cover codes with their IGBP names", () => {
  assert.equal(dateRuns(["2020-02-01", "2020-02-02", "2020-02-03", "2020-03-05"]), "2020-02-01 to 2020-02-03 (3 days), 2020-03-05");
  assert.equal(landCoverName("class10"), "class 10 (IGBP: grasslands)");
  assert.equal(landCoverName("class99"), "class 99");
});
