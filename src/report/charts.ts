/**
 * The evaluation's pictures: bars with confidence intervals (RMSE per model), a density scatter
 * of estimates against references with the 1:1 line, and daily time series (station, SMAP,
 * reconstruction). Plain PNGs through the project's canvas; no plotting dependency.
 */
import { Canvas, viridis, type Rgb } from "./png.js";

const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [228, 228, 228];
const GREY: Rgb = [120, 120, 120];

function line(c: Canvas, x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let s = 0; s <= steps; s++) c.set(x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps, color);
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

/** Horizontal bars (value with [low, high] whiskers), one per label, best first as given. */
export function renderBars(title: string, bars: { label: string; value: number; low: number; high: number }[], unit: string): Canvas {
  const left = 150;
  const width = 420;
  const rowH = 28;
  const top = 44;
  const c = new Canvas(left + width + 90, top + rowH * bars.length + 40);
  c.text(12, 12, title, INK, 2);
  const max = Math.max(...bars.map((b) => (Number.isFinite(b.high) ? b.high : b.value))) * 1.08 || 1;
  const x = (v: number) => left + (v / max) * width;
  for (const t of niceTicks(0, max)) {
    c.fillRect(x(t), top - 4, 1, rowH * bars.length + 4, GRID);
    c.text(x(t) - 12, top + rowH * bars.length + 6, t.toFixed(3), GREY, 1);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    c.text(10, y + 8, b.label, INK, 1);
    c.fillRect(left, y + 6, x(b.value) - left, rowH - 12, viridis(0.15 + (0.7 * i) / Math.max(1, bars.length - 1)));
    if (Number.isFinite(b.low) && Number.isFinite(b.high)) {
      c.fillRect(x(b.low), y + rowH / 2, x(b.high) - x(b.low) + 1, 1, INK);
      c.fillRect(x(b.low), y + 8, 1, rowH - 16, INK);
      c.fillRect(x(b.high), y + 8, 1, rowH - 16, INK);
    }
    c.text(x(Number.isFinite(b.high) ? b.high : b.value) + 6, y + 8, b.value.toFixed(4), INK, 1);
  });
  c.text(left, top + rowH * bars.length + 20, unit, GREY, 1);
  return c;
}

/** Density scatter (counts per cell, log colour) of est against ref on [lo, hi]^2, with 1:1. */
export function renderDensityScatter(title: string, ref: ArrayLike<number>, est: ArrayLike<number>, xLabel: string, yLabel: string, lo = 0, hi = 0.6): Canvas {
  const size = 360;
  const bins = 90;
  const cell = size / bins;
  const left = 60;
  const top = 44;
  const c = new Canvas(left + size + 30, top + size + 50);
  c.text(12, 12, title, INK, 2);
  const counts = new Float64Array(bins * bins);
  for (let i = 0; i < ref.length; i++) {
    const a = Math.floor(((ref[i]! - lo) / (hi - lo)) * bins);
    const b = Math.floor(((est[i]! - lo) / (hi - lo)) * bins);
    if (a >= 0 && a < bins && b >= 0 && b < bins) counts[b * bins + a]! += 1;
  }
  const maxLog = Math.log1p(Math.max(1, ...counts));
  for (const t of niceTicks(lo, hi)) {
    const p = ((t - lo) / (hi - lo)) * size;
    c.fillRect(left + p, top, 1, size, GRID);
    c.fillRect(left, top + size - p, size, 1, GRID);
    c.text(left + p - 10, top + size + 6, t.toFixed(2), GREY, 1);
    c.text(left - 34, top + size - p - 3, t.toFixed(2), GREY, 1);
  }
  for (let b = 0; b < bins; b++) {
    for (let a = 0; a < bins; a++) {
      const n = counts[b * bins + a]!;
      if (n > 0) c.fillRect(left + a * cell, top + size - (b + 1) * cell, Math.ceil(cell), Math.ceil(cell), viridis(Math.log1p(n) / maxLog));
    }
  }
  line(c, left, top + size, left + size, top, [200, 40, 40]);
  c.strokeRect(left, top, size + 1, size + 1, INK);
  c.text(left, top + size + 22, xLabel, INK, 1);
  c.text(12, 30, yLabel, INK, 1);
  return c;
}

export interface SeriesSpec {
  name: string;
  values: ArrayLike<number>;
  color: Rgb;
  /** Dots (observations) instead of a line. */
  dots?: boolean;
}

/** Daily series on one axis; NaN breaks lines; legend at the top. */
export function renderSeries(title: string, dates: string[], series: SeriesSpec[], yLabel: string): Canvas {
  const left = 56;
  const top = 60;
  const width = Math.max(400, Math.min(900, dates.length * 3));
  const height = 220;
  const c = new Canvas(left + width + 20, top + height + 40);
  c.text(12, 12, title, INK, 2);
  let lx = left;
  for (const s of series) {
    c.fillRect(lx, 38, 14, 4, s.color);
    lx += 36 + c.text(lx + 20, 35, s.name, INK, 1);
  }
  const all = series.flatMap((s) => Array.from(s.values).filter(Number.isFinite));
  const lo = Math.max(0, Math.min(...all) - 0.02);
  const hi = Math.max(...all) + 0.02;
  const x = (t: number) => left + (t / Math.max(1, dates.length - 1)) * width;
  const y = (v: number) => top + height - ((v - lo) / (hi - lo || 1)) * height;
  for (const t of niceTicks(lo, hi, 4)) {
    c.fillRect(left, y(t), width, 1, GRID);
    c.text(8, y(t) - 3, t.toFixed(2), GREY, 1);
  }
  dates.forEach((d, t) => {
    if (d.endsWith("-01")) {
      c.fillRect(x(t), top + height, 1, 5, INK);
      c.text(x(t) + 2, top + height + 9, d.slice(0, 7), GREY, 1);
    }
  });
  for (const s of series) {
    for (let t = 0; t < dates.length; t++) {
      const v = s.values[t]!;
      if (!Number.isFinite(v)) continue;
      if (s.dots) c.fillRect(x(t) - 1, y(v) - 1, 3, 3, s.color);
      else if (t > 0 && Number.isFinite(s.values[t - 1]!)) line(c, x(t - 1), y(s.values[t - 1]!), x(t), y(v), s.color);
      else c.set(x(t), y(v), s.color);
    }
  }
  c.strokeRect(left, top, width + 1, height + 1, INK);
  c.text(left, top + height + 24, yLabel, GREY, 1);
  return c;
}
