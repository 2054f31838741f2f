/**
 * Charts through Vega-Lite: a figure is a Vega-Lite specification, compiled to Vega here and
 * rendered to SVG headless (vega's "none" renderer, no canvas, no browser), so every figure works
 * in a report opened without JavaScript; the compiled Vega specification travels with it, and
 * the report's inline vega runtime swaps in the live view (tooltips, zoom) where JavaScript runs.
 * Why vega: a maintained, declarative grammar with axes, legends and scales done right, pure
 * JavaScript (no native module), and the same specification renders in Node and in the browser.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type VegaLiteSpec = TopLevelSpec;

export interface Figure {
  /** A stable identifier (the HTML element id and the figure's file name). */
  id: string;
  title: string;
  /** The static rendering. */
  svg: string;
  /** The compiled Vega specification, for the interactive view. */
  spec: vega.Spec;
}

/** The report's look: one font stack, readable sizes, no chart border. */
const CONFIG = {
  font: "DejaVu Sans, Helvetica, Arial, sans-serif",
  view: { stroke: "#bbb" },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal" },
  // Legend labels and titles in full (vega cuts them at 160/180 px by default).
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", labelLimit: 320, titleLimit: 320 },
  title: { fontSize: 14, anchor: "start", fontWeight: "bold" },
} as const;

/** A Vega-Lite specification compiled to Vega, with the report's look. */
export function compileSpec(spec: VegaLiteSpec): vega.Spec {
  return compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
}

/** Compiles and renders one Vega-Lite figure to SVG. */
export async function renderFigure(id: string, title: string, spec: VegaLiteSpec): Promise<Figure> {
  const compiled = compileSpec(spec);
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    return { id, title, svg, spec: compiled };
  } finally {
    view.finalize();
  }
}

/** The vega runtime (one minified file) for the report's and the viewer's live charts. */
export function vegaRuntimeFile(): string {
  // The package exports only its module entry (build/vega.module.js); the browser build sits beside it.
  return new URL("vega.min.js", import.meta.resolve("vega")).pathname;
}
