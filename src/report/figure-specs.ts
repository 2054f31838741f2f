/**
 * The report's charts as Vega-Lite specifications (data inline): labelled axes with units,
 * tooltips, and zoom/pan on the time axes where JavaScript runs. Perceptually uniform colour
 * (viridis) wherever colour carries a value.
 */
import { formatDay, parseDay } from "../util/dates.js";
import type { VegaLiteSpec } from "./vega.js";

const SM = "m³/m³";
const WIDTH = 640;

/** Zoom and pan by scale binding (mouse wheel, drag), reset by double click. */
const ZOOM = [{ name: "zoom", select: { type: "interval", encodings: ["x"] }, bind: "scales" }];

export interface Bar {
  label: string;
  value: number;
  low?: number;
  high?: number;
  group?: string;
}

/** Horizontal bars with optional 95 % CI whiskers, one per label (order kept). */
export function barChart(
  title: string,
  bars: Bar[],
  axisTitle: string,
  o: { domain?: [number, number]; band?: [number, number]; format?: string } = {},
): VegaLiteSpec {
  const values = bars.map((b) => ({ ...b, low: b.low ?? b.value, high: b.high ?? b.value }));
  const y = { field: "label", type: "nominal", sort: null, title: null } as const;
  const x = { field: "value", type: "quantitative", title: axisTitle, ...(o.domain ? { scale: { domain: o.domain } } : {}) } as const;
  const layers: unknown[] = [];
  if (o.band)
    layers.push({
      data: { values: [{ a: o.band[0], b: o.band[1] }] },
      mark: { type: "rect", color: "#d8ecd8" },
      encoding: { x: { field: "a", type: "quantitative" }, x2: { field: "b" } },
    });
  layers.push(
    {
      mark: { type: "bar", color: "#3b528b", height: { band: 0.7 } },
      encoding: {
        y,
        x,
        tooltip: [
          { field: "label", title: "" },
          { field: "value", format: o.format ?? ".4f", title: axisTitle },
          { field: "low", format: o.format ?? ".4f", title: "95 % CI low" },
          { field: "high", format: o.format ?? ".4f", title: "95 % CI high" },
        ],
      },
    },
    { mark: { type: "rule", color: "#111" }, encoding: { y, x: { field: "low", type: "quantitative" }, x2: { field: "high" } } },
  );
  return {
    title,
    width: WIDTH - 140,
    height: { step: 22 },
    data: { values },
    layer: layers,
  } as unknown as VegaLiteSpec;
}

/** A density plot (2-D histogram) of estimates against reference values, with the 1:1 line. */
export function densityChart(title: string, d: { lo: number; hi: number; bins: number; counts: number[] }, xTitle: string, yTitle: string): VegaLiteSpec {
  const w = (d.hi - d.lo) / d.bins;
  const values: { x0: number; x1: number; y0: number; y1: number; count: number }[] = [];
  for (let i = 0; i < d.bins; i++)
    for (let j = 0; j < d.bins; j++) {
      const count = d.counts[i * d.bins + j]!;
      if (count) values.push({ x0: d.lo + i * w, x1: d.lo + (i + 1) * w, y0: d.lo + j * w, y1: d.lo + (j + 1) * w, count });
    }
  const scale = { domain: [d.lo, d.hi], nice: false };
  return {
    title,
    width: 380,
    height: 380,
    layer: [
      {
        data: { values },
        mark: "rect",
        encoding: {
          x: { field: "x0", type: "quantitative", title: `${xTitle} (${SM})`, scale },
          x2: { field: "x1" },
          y: { field: "y0", type: "quantitative", title: `${yTitle} (${SM})`, scale },
          y2: { field: "y1" },
          color: { field: "count", type: "quantitative", scale: { type: "log", scheme: "viridis" }, title: "pixel-days" },
          tooltip: [
            { field: "x0", title: xTitle, format: ".3f" },
            { field: "y0", title: yTitle, format: ".3f" },
            { field: "count", title: "pixel-days" },
          ],
        },
      },
      {
        data: { values: [{ a: d.lo }, { a: d.hi }] },
        mark: { type: "line", color: "#d62728", strokeDash: [4, 3] },
        encoding: { x: { field: "a", type: "quantitative" }, y: { field: "a", type: "quantitative" } },
      },
    ],
  } as unknown as VegaLiteSpec;
}

export interface StationSeriesInput {
  title: string;
  dates: string[];
  insitu?: (number | null)[];
  smap: (number | null)[];
  estimate: (number | null)[];
  /** One standard deviation; the band is the 90 % interval (+-1.645 sigma). */
  sigma?: (number | null)[];
  estimateLabel: string;
  insituLabel?: string;
  /**
   * A template for the viewer: data from the named sources "gaps" and "unfilled" ({from, to}),
   * "band" ({date, low, high, seg}), "series" ({date, series, value, seg}) and "cursor" ({date}),
   * filled in the browser (view.data()).
   */
  named?: boolean;
  width?: number;
}

/**
 * Runs of consecutive days with a value get one segment number each, so lines and bands are
 * drawn per run and never across a day without a value (a line joins only what it is given).
 */
export function segments(values: (number | null | undefined)[]): (number | null)[] {
  let seg = -1;
  return values.map((v, t) => {
    if (v === null || v === undefined || !Number.isFinite(v)) return null;
    if (t === 0 || values[t - 1] === null || values[t - 1] === undefined || !Number.isFinite(values[t - 1]!)) seg++;
    return seg;
  });
}

/** Runs of days where `missing(t)` holds, as [from, to) date intervals. */
export function dayRuns(dates: string[], missing: (t: number) => boolean): { from: string; to: string }[] {
  const runs: { from: string; to: string }[] = [];
  for (let t = 0; t < dates.length; t++) {
    if (!missing(t)) continue;
    let u = t;
    while (u + 1 < dates.length && missing(u + 1)) u++;
    runs.push({ from: dates[t]!, to: formatDay(parseDay(dates[u]!) + 1) });
    t = u;
  }
  return runs;
}

/**
 * A station's (or a pixel's) daily series: days without SMAP shaded grey, days without an
 * estimate shaded red, the estimate's 90 % band, in situ, SMAP dots. Lines and the band break
 * wherever a value is missing.
 */
export function seriesChart(s: StationSeriesInput): VegaLiteSpec {
  const estSeg = segments(s.estimate);
  const insituSeg = segments(s.insitu ?? []);
  // The band follows the estimate (zero width where it has no sigma: SMAP's own days), so it
  // breaks exactly where the estimate does.
  const band = (t: number, sign: number) => (s.estimate[t] == null ? null : s.estimate[t]! + sign * 1.645 * (s.sigma?.[t] ?? 0));
  const rows = s.dates.map((date, t) => ({
    date,
    insitu: s.insitu?.[t] ?? null,
    smap: s.smap[t] ?? null,
    estimate: s.estimate[t] ?? null,
    low: band(t, -1),
    high: band(t, 1),
  }));
  const gaps = dayRuns(s.dates, (t) => rows[t]!.smap === null && rows[t]!.estimate !== null);
  const unfilled = dayRuns(s.dates, (t) => rows[t]!.estimate === null);
  const insituName = s.insituLabel ?? "in situ";
  const long = rows.flatMap((r, t) =>
    (
      [
        [insituName, r.insitu, insituSeg[t]],
        ["SMAP", r.smap, null],
        [s.estimateLabel, r.estimate, estSeg[t]],
      ] as const
    ).flatMap(([series, v, seg]) => (v === null ? [] : [{ date: r.date, series, value: v, seg: `${series}:${seg}` }])),
  );
  const names = [...(s.insitu ? [insituName] : []), "SMAP", s.estimateLabel];
  const colors = [...(s.insitu ? ["#555555"] : []), "#1f5fbf", "#e07b00"];
  const x = { field: "date", type: "temporal", title: "date" };
  const shade = (name: string, values: { from: string; to: string }[], color: string) => ({
    data: s.named ? { name } : { values },
    mark: { type: "rect", color },
    encoding: { x: { field: "from", type: "temporal" }, x2: { field: "to" } },
  });
  return {
    title: s.title,
    width: s.width ?? WIDTH,
    height: 220,
    layer: [
      shade("gaps", gaps, "#eeeeee"),
      shade("unfilled", unfilled, "#f6d5da"),
      ...(s.sigma
        ? [
            {
              data: s.named
                ? { name: "band" }
                : { values: rows.flatMap((r, t) => (r.low === null ? [] : [{ date: r.date, low: r.low, high: r.high, seg: estSeg[t] }])) },
              mark: { type: "area", color: "#e07b00", opacity: 0.22 },
              encoding: { x, y: { field: "low", type: "quantitative" }, y2: { field: "high" }, detail: { field: "seg", type: "nominal" } },
            },
          ]
        : []),
      {
        data: s.named ? { name: "series" } : { values: long },
        layer: [
          {
            params: ZOOM,
            transform: [{ filter: "datum.series !== 'SMAP'" }],
            mark: { type: "line", strokeWidth: 1.4 },
            encoding: {
              x,
              y: { field: "value", type: "quantitative", title: `soil moisture (${SM})` },
              color: { field: "series", type: "nominal", scale: { domain: names, range: colors }, title: null },
              detail: { field: "seg", type: "nominal" },
            },
          },
          {
            transform: [{ filter: "datum.series === 'SMAP'" }],
            mark: { type: "point", filled: true, size: 14 },
            encoding: {
              x,
              y: { field: "value", type: "quantitative" },
              color: { field: "series", type: "nominal", scale: { domain: names, range: colors }, title: null },
              tooltip: [
                { field: "date", type: "temporal", format: "%Y-%m-%d" },
                { field: "value", format: ".3f", title: `SMAP (${SM})` },
              ],
            },
          },
        ],
      },
      ...(s.named
        ? [
            {
              data: { name: "cursor" },
              mark: { type: "rule", color: "#d62728", strokeWidth: 1.5, strokeDash: [3, 2] },
              encoding: { x: { field: "date", type: "temporal" } },
            },
          ]
        : []),
    ],
  } as unknown as VegaLiteSpec;
}

/** Daily shares (0-1) of several series on one date axis, e.g. SMAP coverage before and after. */
export function dailySharesChart(title: string, dates: string[], series: { name: string; values: number[] }[], yTitle: string): VegaLiteSpec {
  const values = series.flatMap((s) => s.values.map((v, t) => ({ date: dates[t], series: s.name, value: Number.isFinite(v) ? v : null })));
  return {
    title,
    width: WIDTH,
    height: 180,
    data: { values },
    params: ZOOM,
    mark: { type: "line", strokeWidth: 1.4, interpolate: "step-after" },
    encoding: {
      x: { field: "date", type: "temporal", title: "date" },
      y: { field: "value", type: "quantitative", title: yTitle, axis: { format: "%" }, scale: { domain: [0, 1] } },
      color: { field: "series", type: "nominal", scale: { scheme: "viridis" }, title: null },
      tooltip: [{ field: "date", type: "temporal", format: "%Y-%m-%d" }, { field: "series" }, { field: "value", format: ".1%" }],
    },
  } as unknown as VegaLiteSpec;
}
