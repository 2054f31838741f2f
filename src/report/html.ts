/**
 * Small HTML building blocks for the self-contained report: escaping, tables, figures (inline SVG
 * plus the Vega specification the page's script turns into a live chart) and the page shell with
 * its inline style and scripts. Nothing refers to the network.
 */
import fs from "node:fs";
import type { Figure } from "./vega.js";
import { vegaRuntimeFile } from "./vega.js";

export function esc(s: unknown): string {
  return String(s).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** A table; cells are HTML (escape text first). `numeric` right-aligns all but the first column. */
export function table(head: string[], rows: string[][], o: { caption?: string; numeric?: boolean } = {}): string {
  const cls = o.numeric === false ? "" : ' class="num"';
  return [
    `<table${cls}>`,
    o.caption ? `<caption>${o.caption}</caption>` : "",
    `<thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n")}</tbody>`,
    "</table>",
  ].join("\n");
}

/** A figure: the static SVG, replaced by the live view when scripts run. */
export function figure(f: Figure, caption: string): string {
  const spec = JSON.stringify(f.spec).replaceAll("</", "<\\/");
  return [
    `<figure id="${esc(f.id)}" class="chart">`,
    `<div class="vega" data-figure="${esc(f.id)}">${f.svg}</div>`,
    `<script type="application/json" class="vega-spec" data-figure="${esc(f.id)}">${spec}</script>`,
    `<figcaption>${caption}</figcaption>`,
    "</figure>",
  ].join("\n");
}

const STYLE = `
body { font: 15px/1.5 "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1b1b1b; margin: 0; background: #fafafa; }
main { max-width: 1000px; margin: 0 auto; padding: 1.5em 2em 4em; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
nav ol { columns: 2; font-size: 0.95em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e3e3e3; text-align: left; vertical-align: top; }
table.num td:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
figure.chart { margin: 1.2em 0; max-width: 100%; } figcaption { font-size: 0.85em; color: #555; max-width: 760px; }
figure.chart svg { max-width: 100%; height: auto; } .table-wrap { max-width: 100%; overflow-x: auto; }
ul.caveats li { margin: 0.3em 0; }
.problems li { color: #8a2b00; } .ok { color: #2d6a2d; }
.grid2 { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; } .grid2 figure.chart { margin: 0.6em 0; max-width: min(100%, 470px); }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; font-size: 0.8em; max-height: 30em; }
.headline { background: #f3f7fb; border-left: 4px solid #3b528b; padding: 0.6em 1em; }
`;

/** Turns every figure's static SVG into a live Vega view (tooltips, zoom) with the inline runtime. */
const HYDRATE = `
(function () {
  if (!window.vega) return;
  document.querySelectorAll("script.vega-spec").forEach(function (s) {
    var id = s.getAttribute("data-figure");
    var el = document.querySelector('div.vega[data-figure="' + id + '"]');
    var spec = JSON.parse(s.textContent);
    var view = new vega.View(vega.parse(spec), { renderer: "svg", container: el, hover: true });
    view.runAsync().then(function () { el.setAttribute("data-live", "1"); });
  });
})();
`;

export function page(title: string, body: string): string {
  const runtime = fs.readFileSync(vegaRuntimeFile(), "utf8").replaceAll("</script", "<\\/script");
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>${STYLE}</style>`,
    "</head><body><main>",
    body,
    "</main>",
    `<script>${runtime}</script>`,
    `<script>${HYDRATE}</script>`,
    "</body></html>",
  ].join("\n");
}
