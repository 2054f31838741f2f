/**
 * Pictures of a cube: a map of one value per cell with a colour bar, and a daily bar chart.
 */
import { Canvas, viridis, type Rgb } from "./png.js";

const GREY: Rgb = [215, 215, 215];
const INK: Rgb = [30, 30, 30];

export interface MapOptions {
  title: string;
  subtitle?: string;
  /** Value range of the colour bar; default the data range. */
  min?: number;
  max?: number;
  /** Formats colour bar labels. */
  format?: (v: number) => string;
  /** Label for cells without a value (NaN). */
  missingLabel?: string;
}

/** A raster map (north up) of nrows x ncols values; NaN cells are grey. */
export function renderMap(values: Float32Array, nrows: number, ncols: number, options: MapOptions): Canvas {
  const finite = Array.from(values).filter(Number.isFinite);
  const min = options.min ?? (finite.length ? Math.min(...finite) : 0);
  const max = options.max ?? (finite.length ? Math.max(...finite) : 1);
  const format = options.format ?? ((v: number) => v.toFixed(2));
  const scale = Math.max(1, Math.min(12, Math.floor(640 / ncols), Math.floor(520 / nrows)));
  const mapW = ncols * scale;
  const mapH = nrows * scale;
  const margin = 16;
  const top = options.subtitle ? 58 : 40;
  const width = Math.max(mapW + 2 * margin + 110, 420);
  const height = Math.max(top + mapH + margin, top + 220);
  const canvas = new Canvas(width, height);
  canvas.text(margin, 12, options.title, INK, 2);
  if (options.subtitle) canvas.text(margin, 36, options.subtitle, [90, 90, 90], 1);
  for (let r = 0; r < nrows; r++) {
    for (let c = 0; c < ncols; c++) {
      const v = values[r * ncols + c]!;
      const color = Number.isFinite(v) ? viridis((v - min) / (max - min || 1)) : GREY;
      canvas.fillRect(margin + c * scale, top + r * scale, scale, scale, color);
    }
  }
  canvas.strokeRect(margin - 1, top - 1, mapW + 2, mapH + 2, INK);
  // Colour bar with five labels.
  const barX = margin + mapW + 20;
  const barH = Math.min(200, Math.max(120, mapH));
  for (let y = 0; y < barH; y++) canvas.fillRect(barX, top + y, 16, 1, viridis(1 - y / (barH - 1)));
  canvas.strokeRect(barX - 1, top - 1, 18, barH + 2, INK);
  for (let k = 0; k <= 4; k++) {
    const y = top + Math.round((k / 4) * (barH - 1));
    canvas.fillRect(barX + 17, y, 4, 1, INK);
    canvas.text(barX + 24, y - 3, format(max - (k / 4) * (max - min)), INK, 1);
  }
  if (values.some((v) => !Number.isFinite(v))) {
    canvas.fillRect(barX, top + barH + 12, 16, 10, GREY);
    canvas.text(barX + 22, top + barH + 14, options.missingLabel ?? "no data", INK, 1);
  }
  return canvas;
}

/** Bars of one value per day (0..1 shown as 0..100 %), with month ticks. */
export function renderDailyBars(values: Float32Array, dates: string[], title: string): Canvas {
  const margin = 40;
  const barW = Math.max(1, Math.min(6, Math.floor(900 / Math.max(1, values.length))));
  const plotW = barW * values.length;
  const plotH = 160;
  const canvas = new Canvas(plotW + 2 * margin, plotH + 80);
  canvas.text(margin, 10, title, INK, 2);
  const top = 36;
  for (const pct of [0, 0.5, 1]) {
    const y = top + plotH - Math.round(pct * plotH);
    canvas.fillRect(margin, y, plotW, 1, [225, 225, 225]);
    canvas.text(4, y - 3, `${Math.round(pct * 100)}%`, INK, 1);
  }
  values.forEach((v, t) => {
    const h = Math.round(Math.min(1, Math.max(0, v)) * plotH);
    canvas.fillRect(margin + t * barW, top + plotH - h, Math.max(1, barW - (barW > 2 ? 1 : 0)), h, viridis(0.25 + 0.6 * v));
  });
  canvas.fillRect(margin, top + plotH, plotW, 1, INK);
  let lastLabelX = -100;
  dates.forEach((d, t) => {
    if (d.endsWith("-01") || t === 0) {
      const x = margin + t * barW;
      canvas.fillRect(x, top + plotH, 1, 5, INK);
      if (x - lastLabelX > 50) {
        canvas.text(x, top + plotH + 9, d.slice(0, 7), INK, 1);
        lastLabelX = x;
      }
    }
  });
  return canvas;
}
