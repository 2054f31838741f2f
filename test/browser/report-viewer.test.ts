/**
 * The HTML report and the map viewer, end to end on the synthetic test world: an evaluation
 * (boosted trees and linear interpolation, with stations) and a product (--everywhere), then
 * `smapfill report` and `smapfill serve`, checked in real headless Chromium (Debian's, driven by
 * playwright-core): no console error, no network request, every figure non-empty, the viewer's
 * slider changes the map's pixels, a click draws a pixel's series, a station marker opens its
 * metrics. Also the server's refusals (path traversal, other methods). Screenshots go to
 * SMAPFILL_SCREENSHOTS when it is set (docs/img is made that way).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import type { Page } from "playwright-core";
import { ingestStudy } from "../../src/cube/ingest-study.js";
import { loadStudy } from "../../src/config/study.js";
import { writeWorld } from "../../src/synth/write-world.js";
import { writeWorldStudy } from "../../src/synth/world-study.js";
import { WORLD_PRESETS } from "../../src/synth/world.js";
import { containedFile, viewerMeta } from "../../src/serve/server.js";
import { Cube } from "../../src/cube/cube.js";
import { REPO_ROOT, tempDir } from "../helpers.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"];
const SHOTS = process.env.SMAPFILL_SCREENSHOTS;
// The page's globals, in the functions evaluated in the browser (the tests compile without the DOM library).
declare const document: { querySelector(s: string): any; querySelectorAll(s: string): any[] };
declare function getComputedStyle(e: unknown): { fill: string; stroke: string };

/** Days [from, to) of the test world without predictors. */
const UNFILLED = [40, 48] as const;

function smapfill(args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
  assert.equal(run.status, 0, `smapfill ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

const browserMissing = !fs.existsSync(CHROMIUM);
if (browserMissing && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium for the browser tests`);
const skip = browserMissing ? `no ${CHROMIUM} (apt-get install chromium)` : false;

let dir = "";
let server: ChildProcess | undefined;
let base = "";
before(async () => {
  dir = tempDir();
  const config = { ...WORLD_PRESETS.test, days: 60 };
  await writeWorld(config, path.join(dir, "w"));
  const study = writeWorldStudy(path.join(dir, "w"), config, "../cube.zarr");
  const cube = (await ingestStudy(loadStudy(study), { quiet: true })).output;
  // Days 40-47 without any predictor (as Pakistan's February-May without ERA5-Land): the
  // product cannot fill them, and no series may draw a line or band across them.
  const c = await Cube.open(cube);
  for (const v of c.variables.filter((x) => x.kind === "dynamic" && !x.name.startsWith("soil_moisture")))
    await c.writeBlock(v.name, UNFILLED[0], new Float32Array((UNFILLED[1] - UNFILLED[0]) * c.window.nrows * c.window.ncols).fill(NaN));
  smapfill([
    "evaluate",
    cube,
    "--out",
    path.join(dir, "evaluation"),
    "--models",
    "xgb,linear_interp",
    "--reference",
    "xgb",
    "--ablation-pairs",
    "none",
    "--importance",
    "xgb",
    "--importance-rows",
    "500",
    "--importance-repeats",
    "1",
    "--xgb-rounds",
    "40",
    "--max-train-samples",
    "3000",
    "--boot",
    "50",
    "--ismn",
    path.join(dir, "w", "ismn"),
    "--quiet",
  ]);
  smapfill(["train", cube, "--model", "xgb", "--out", path.join(dir, "model"), "--xgb-rounds", "40", "--max-train-samples", "3000", "--quiet"]);
  smapfill(["reconstruct", cube, "--model", path.join(dir, "model"), "--out", path.join(dir, "product"), "--everywhere", "--format", "zarr", "--quiet"]);
});
after(() => server?.kill());

/** Starts `smapfill serve` on a free port and returns its URL. */
async function serve(): Promise<string> {
  if (base) return base;
  server = spawn(process.execPath, [BIN, "serve", path.join(dir, "product"), "--evaluation", path.join(dir, "evaluation"), "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  server.stderr!.on("data", (d) => (err += d));
  base = await new Promise<string>((resolve, reject) => {
    server!.stdout!.on("data", (d: Buffer) => {
      const m = /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(String(d));
      if (m) resolve(m[1]!);
    });
    server!.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  return base;
}

function get(url: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A page's console errors, uncaught errors and requests (data: URLs aside), recorded as they come. */
function watch(page: Page): { errors: string[]; requests: string[] } {
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => !r.url().startsWith("data:") && requests.push(r.url()));
  return { errors, requests };
}

async function launch() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

test("smapfill report: one self-contained file with every section; refuses to overwrite, and names a folder that is no run", () => {
  const out = path.join(dir, "report.html");
  const stdout = smapfill(["report", path.join(dir, "evaluation"), path.join(dir, "product"), "--out", out]);
  assert.match(stdout, /sections: product, study, models, density, stations, importance, uncertainty, station-table, problems, run/);
  const html = fs.readFileSync(out, "utf8");
  // Self-contained: no reference to any other file or host (outside the inline scripts' code).
  const markup = html.replace(/<script>[\s\S]*?<\/script>/g, "");
  assert.ok(markup.length < html.length - 400_000, "the vega runtime is inline");
  assert.doesNotMatch(markup, /<script[^>]+src=|<link[^>]+href="(?!data:)|<img[^>]+src="(?!data:)|<image[^>]+href="(?!data:)|url\((?!data:|#)/);
  assert.match(html, /Liu et al\. \(2025\)/);
  // Product first: its first section is the product, with its model's scores, in-situ scores labelled pooled and per-station mean, and caveats.
  const first = /<section id="([^"]+)"><h2>([^<]+)<\/h2>/.exec(html)!;
  assert.deepEqual([first[1], first[2]], ["product", "The product"]);
  const product = html.slice(html.indexOf('<section id="product">'), html.indexOf('<section id="study">'));
  assert.match(product, /the product model on its calibration gaps/);
  assert.match(product, /the product on gap days, pooled[\s\S]*the product on gap days, mean over stations/);
  assert.match(product, /Days not filled<\/b>: [\d,]+ land pixel-days on 8 days/);
  assert.match(product, /Frozen ground/);
  assert.doesNotMatch(html, />class\d+</, "land-cover classes named");
  assert.match(html, /<h2>Stations: in situ, SMAP and the product<\/h2>/);
  assert.match(html, /0\.09/, "the paper's in-situ RMSE beside ours");
  const again = spawnSync(process.execPath, [BIN, "report", path.join(dir, "evaluation"), "--out", out], { encoding: "utf8" });
  assert.equal(again.status, 2);
  assert.match(again.stderr, /exists already[\s\S]*--force/);
  const none = spawnSync(process.execPath, [BIN, "report", path.join(dir, "w", "ismn"), "--out", path.join(dir, "x.html")], { encoding: "utf8" });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /ismn: neither an evaluation/);
});

test("smapfill report draws the density plot of the product's model from the evaluation's test predictions when the evaluation's saved plot is of another model", () => {
  // The same evaluation, its saved plot re-labelled as linear interpolation's: the product (XGBoost) must not be shown through it.
  const copy = path.join(dir, "evaluation-other-reference");
  fs.cpSync(path.join(dir, "evaluation"), copy, { recursive: true });
  const figureData = path.join(copy, "figure-data.json");
  const saved = JSON.parse(fs.readFileSync(figureData, "utf8"));
  saved.scatter.model = "linear_interp";
  fs.writeFileSync(figureData, JSON.stringify(saved));
  const out = path.join(dir, "report-other-reference.html");
  smapfill(["report", copy, path.join(dir, "product"), "--out", out]);
  const html = fs.readFileSync(out, "utf8");
  const density = html.slice(html.indexOf('<section id="density">'));
  assert.match(density, /XGBoost \(GBT\) against the hidden SMAP values of the \w+ test set \(\d+ pixel-days\)/);
  assert.doesNotMatch(density.slice(0, density.indexOf("</section>")), /Linear interpolation against the hidden SMAP/i);
  // Without the predictions file, the saved plot is shown and said to be of another model.
  fs.rmSync(path.join(copy, "predictions"), { recursive: true });
  const out2 = path.join(dir, "report-other-reference-2.html");
  smapfill(["report", copy, path.join(dir, "product"), "--out", out2]);
  assert.match(
    fs.readFileSync(out2, "utf8"),
    /saved these plots for its reference model, [^;]+; the product's model, XGBoost \(GBT\), has no test predictions in the evaluation folder/,
  );
});

test("the report in Chromium: no console error, no network request, every figure drawn live and non-empty", { skip }, async () => {
  const out = path.join(dir, "report.html");
  if (!fs.existsSync(out)) smapfill(["report", path.join(dir, "evaluation"), path.join(dir, "product"), "--out", out]);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const { errors, requests } = watch(page);
    await page.goto(`file://${out}`);
    await page.waitForFunction(`[...document.querySelectorAll("div.vega")].every((d) => d.getAttribute("data-live") === "1")`, null, { timeout: 120000 });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [`file://${out}`], "the report loads nothing but itself");
    const figures = await page.$$eval("div.vega", (ds) =>
      ds.map((d) => ({ id: d.getAttribute("data-figure"), marks: d.querySelectorAll("svg path, svg rect, svg line, svg image, svg circle").length })),
    );
    for (const id of [
      "study-map",
      "study-locator",
      "coverage-before",
      "coverage-after",
      "uncertainty-map",
      "coverage-daily",
      "rmse-gaps",
      "density-smap",
      "density-insitu",
      "calibration-xgb",
    ])
      assert.ok(
        figures.some((f) => f.id === id),
        `figure ${id} present`,
      );
    assert.ok(
      figures.some((f) => f.id!.startsWith("station-")),
      "station series present",
    );
    for (const f of figures) assert.ok(f.marks > 5, `figure ${f.id} has marks (${f.marks})`);
    // No figure wider than its box, no text cut off at its figure's edges, no table wider than the page.
    const overflow = await page.$$eval("figure.chart", (fs) =>
      fs.flatMap((f) => {
        const box = f.getBoundingClientRect();
        const svg = f.querySelector("svg")!.getBoundingClientRect();
        const out: string[] = [];
        if (svg.right > box.right + 1 || svg.left < box.left - 1) out.push(`${f.id}: svg ${svg.left}-${svg.right} outside ${box.left}-${box.right}`);
        for (const t of f.querySelectorAll("svg text")) {
          const r = t.getBoundingClientRect();
          if (r.width && (r.right > svg.right + 1 || r.left < svg.left - 1)) out.push(`${f.id}: text '${t.textContent}' cut at ${r.right} > ${svg.right}`);
        }
        return out;
      }),
    );
    assert.deepEqual(overflow, []);
    const main = await page.$eval("main", (m) => m.getBoundingClientRect().right);
    const wide = await page.$$eval("table", (ts) => ts.filter((t) => t.closest(".table-wrap") === null).map((t) => t.getBoundingClientRect().right));
    assert.ok(
      wide.every((r) => r <= main + 1),
      `tables within the page: ${wide.join()} <= ${main}`,
    );
    // The station series: no line or band over the unfilled days.
    const crossing = await page.evaluate(() => {
      const out: string[] = [];
      for (const d of document.querySelectorAll('div.vega[data-figure^="station-"]')) {
        const svg = d.querySelector("svg")!;
        const shade = [...svg.querySelectorAll("path")].filter((p) => getComputedStyle(p).fill === "rgb(246, 213, 218)");
        const spans = shade.map((p) => p.getBoundingClientRect()).map((r) => [r.left + 1, r.right - 1]);
        for (const p of svg.querySelectorAll("path")) {
          const st = getComputedStyle(p);
          const line = st.stroke === "rgb(224, 123, 0)" && st.fill === "none";
          const band = st.fill === "rgb(224, 123, 0)";
          if (!line && !band) continue;
          const r = p.getBoundingClientRect();
          for (const [a, b] of spans)
            if (r.left < b && r.right > a) out.push(`${d.getAttribute("data-figure")}: ${line ? "line" : "band"} ${r.left}-${r.right} over ${a}-${b}`);
        }
        if (!spans.length) out.push(`${d.getAttribute("data-figure")}: no unfilled days shaded`);
      }
      return out;
    });
    assert.deepEqual(crossing, []);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, "report.png"), fullPage: false });
    else await page.screenshot({ path: path.join(dir, "report.png") });
  } finally {
    await browser.close();
  }
});

test("the viewer in Chromium: the slider changes the map, a click draws a pixel's series, a station marker opens its metrics", { skip }, async () => {
  const url = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    const { errors, requests } = watch(page);
    await page.goto(url);
    await page.waitForFunction("window.viewer?.ready === true", null, { timeout: 120000 });
    const map = page.locator("#map");
    const first = await map.screenshot();
    await page.locator("#day").fill("37");
    await page.waitForFunction("window.viewer.drawnDay === 37");
    await page.waitForTimeout(300);
    const second = await map.screenshot();
    assert.ok(!first.equals(second), "another day, other pixels");
    // A click on the middle of the product's extent: that pixel's series.
    const box = (await page.locator(".smap-layer").boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForFunction("window.viewer.seriesPoints > 0", null, { timeout: 15000 });
    assert.ok((await page.locator("#series-chart svg path").count()) > 2, "the series chart is drawn");
    assert.doesNotMatch(await page.locator("#series-chart svg").innerHTML(), />in situ</, "a pixel without a station: no in-situ legend entry");
    // The clicked cell is outlined on the map, around the click.
    const cell = (await page.locator("path.selected-cell").boundingBox())!;
    const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
    assert.ok(cell.x <= cx && cx <= cell.x + cell.width && cell.y <= cy && cy <= cell.y + cell.height, JSON.stringify(cell));
    // Hover: the value, the coordinates and the source flag.
    await page.mouse.move(cx + 3, cy + 3);
    await page.waitForFunction("window.viewer.hover !== null && window.viewer.hover !== undefined");
    assert.match(
      await page.locator("#hover").innerText(),
      /\d+\.\d{3}° N, \d+\.\d{3}° E \(row \d+, column \d+\) [\d-]+: gap-free product (0\.\d{4} m3\/m3|no value); source: (SMAP|reconstructed|not filled)/,
    );
    // A cursor for the map's day; on a day without predictors the series shows no line or band.
    await page.locator("#day").fill(String(UNFILLED[0] + 2));
    await page.waitForFunction(`window.viewer.cursorDay === ${UNFILLED[0] + 2}`);
    const cursor = await page.$$eval("#series-chart svg line, #series-chart svg path", (ps) =>
      ps.filter((p) => getComputedStyle(p).stroke === "rgb(214, 39, 40)").map((p) => p.getBoundingClientRect().left),
    );
    assert.equal(cursor.length, 1, "one cursor line");
    // Days without predictors are unfilled unless SMAP observed the cell that day.
    const unfilled = (await page.evaluate("window.viewer.seriesUnfilled")) as number;
    assert.ok(unfilled > 0 && unfilled <= UNFILLED[1] - UNFILLED[0], `${unfilled} unfilled days`);
    const over = await page.evaluate(() => {
      const svg = document.querySelector("#series-chart svg")!;
      const spans = [...svg.querySelectorAll("path")]
        .filter((p) => getComputedStyle(p).fill === "rgb(246, 213, 218)")
        .map((p) => p.getBoundingClientRect())
        .map((r) => [r.left + 1, r.right - 1]);
      const drawn = [...svg.querySelectorAll("path")].filter((p) => {
        const st = getComputedStyle(p);
        return (st.stroke === "rgb(224, 123, 0)" && st.fill === "none") || st.fill === "rgb(224, 123, 0)";
      });
      return {
        spans: spans.length,
        crossing: drawn.filter((p) => spans.some(([a, b]) => p.getBoundingClientRect().left < b && p.getBoundingClientRect().right > a)).length,
      };
    });
    assert.ok(over.spans >= 1 && over.crossing === 0, `the unfilled days shaded, no product line or band across them: ${JSON.stringify(over)}`);
    // The layer menu keeps its width: the slider does not move.
    const slider = (await page.locator("#day").boundingBox())!.x;
    await page.selectOption("#layer", "uncertainty");
    await page.waitForFunction("window.viewer.drawnLayer === 'uncertainty'");
    assert.equal((await page.locator("#day").boundingBox())!.x, slider);
    assert.ok((await page.locator(".leaflet-control-scale-line").count()) > 0, "a scale bar");
    assert.ok((await page.locator("path.graticule").count()) > 2, "a graticule");
    // A station marker: its popup lists the metrics, and its series (with in situ) is drawn.
    await page.evaluate("window.viewer.seriesPoints = 0");
    await page.locator("path.station-marker").first().click({ force: true });
    const popup = page.locator(".leaflet-popup-content");
    await popup.waitFor();
    assert.match(await popup.innerText(), /SMAP RMSE \(its days\)[\s\S]*product RMSE \(gap days\)[\s\S]*XGBoost \(GBT\) RMSE \(gap days\)/);
    assert.doesNotMatch(await popup.innerText(), /\bxgb\b/, "model labels, not ids");
    await page.waitForFunction("window.viewer.seriesPoints > 0");
    // The evaluation saved in-situ series for some stations: their legend lists in situ, the others' not.
    let withInsitu = 0;
    const markers = page.locator("path.station-marker");
    for (let i = 0; i < (await markers.count()); i++) {
      await page.evaluate("window.viewer.seriesPoints = 0");
      await markers.nth(i).dispatchEvent("click");
      await page.waitForFunction("window.viewer.seriesPoints > 0");
      const insitu = (await page.evaluate("window.viewer.seriesInsitu")) as boolean;
      assert.equal((await page.locator("#series-chart svg").innerHTML()).includes(">in situ<"), insitu, `station ${i}`);
      if (insitu) withInsitu++;
    }
    assert.ok(withInsitu > 0, "some station shows its in-situ series");
    // The layers: the difference layer works (--everywhere), the source flags too.
    await page.selectOption("#layer", "difference");
    await page.waitForFunction("window.viewer.drawnLayer === 'difference'");
    await page.selectOption("#layer", "source");
    await page.waitForFunction("window.viewer.drawnLayer === 'source'");
    assert.deepEqual(await page.evaluate("window.viewer.errors"), []);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(url)),
      [],
      "the viewer requests nothing from other hosts",
    );
    await page.selectOption("#layer", "product");
    await page.waitForFunction("window.viewer.drawnLayer === 'product'");
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(SHOTS ?? dir, "viewer.png") });
  } finally {
    await browser.close();
  }
});

test("serve: 127.0.0.1 only, the product's files and nothing else (path traversal, encoded dots, symlinks out, other methods)", async () => {
  const url = await serve();
  assert.match(url, /^http:\/\/127\.0\.0\.1:/);
  assert.equal((await get(`${url}product/zarr.json`)).status, 200);
  assert.equal((await get(`${url}product/soil_moisture/zarr.json`)).status, 200);
  assert.equal((await get(`${url}meta.json`)).status, 200);
  for (const p of [
    "product/../../model/model.json",
    "product/%2e%2e/%2e%2e/model/model.json",
    "product/..%2f..%2fmodel%2fmodel.json",
    "product/%2e%2e%5c%2e%2e%5cmodel%5cmodel.json",
    "vendor/../../package.json",
    "vendor/leaflet/../../package.json",
    "product/%00",
    "etc/passwd",
  ])
    assert.equal((await get(`${url}${p}`)).status, 404, p);
  assert.equal((await get(`${url}product/zarr.json`, "POST")).status, 405);
  // A symlink inside the store that points out of it is not followed.
  const store = path.join(dir, "product", "product.zarr");
  fs.symlinkSync(path.join(dir, "model", "model.json"), path.join(store, "leak.json"));
  try {
    assert.equal((await get(`${url}product/leak.json`)).status, 404);
    assert.equal(containedFile(store, "leak.json"), undefined);
  } finally {
    fs.unlinkSync(path.join(store, "leak.json"));
  }
});

test("serve --ismn: without an evaluation, the stations of an ISMN download in the product, scored against it", async () => {
  const meta = await viewerMeta(path.join(dir, "product", "product.zarr"), undefined, path.join(dir, "w", "ismn"));
  // The uncertainty layer's scale follows the product (a fixed 0-0.08 painted Pakistan's 0.015 in one colour).
  const [lo, hi] = meta.uncertaintyDomain;
  assert.ok(lo === 0 && hi > 0.005 && hi < 0.2, `${lo}-${hi}`);
  assert.ok(meta.stations.length >= 2, `${meta.stations.length} stations`);
  for (const st of meta.stations) {
    assert.deepEqual(Object.keys(st.metrics), ["SMAP RMSE (its days)", "SMAP days", "product RMSE (gap days)", "gap days"]);
    assert.ok((st.metrics["SMAP days"] as number) > 0 && (st.metrics["gap days"] as number) > 0, JSON.stringify(st.metrics));
    assert.ok((st.metrics["product RMSE (gap days)"] as number) > 0 && (st.metrics["product RMSE (gap days)"] as number) < 0.2);
    assert.equal(st.insitu!.length, meta.dates.length);
  }
});
