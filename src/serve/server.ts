/**
 * `smapfill serve`: a local map viewer for a product. One static page (Leaflet, with country
 * borders from the packaged world-atlas TopoJSON) and the product's Zarr store over plain HTTP;
 * the page reads the chunks itself with zarrita (no tile server), so what the viewer shows is
 * exactly what the store holds. Binds to 127.0.0.1 by default and serves nothing but the page,
 * its packaged libraries (a fixed list of files) and the files inside the product's store (its
 * metadata without absolute paths). Answers only requests addressed to it (the Host header: no
 * DNS rebinding), says so when bound to an address other machines reach, and outlives any
 * malformed request.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import { Cube } from "../cube/cube.js";
import { productAtStations } from "../reconstruct/product-stations.js";
import { PRODUCT_VARIABLES } from "../reconstruct/reconstruct.js";
import { SOURCE_FLAG_STYLE } from "../reconstruct/source-flag-style.js";
import { modelLabel } from "../models/registry.js";
import { worldAtlasFile } from "../report/borders.js";
import { seriesChart } from "../report/figure-specs.js";
import { readFigureData } from "../report/figure-data.js";
import { compileSpec, vegaRuntimeFile } from "../report/vega.js";
import type { EvaluationResult } from "../eval/experiment.js";
import { parseDay } from "../util/dates.js";
import { messageOf, SmapfillError } from "../util/errors.js";
import { HostCheck, hostName, isLoopback } from "./hosts.js";
import { redactJson } from "./redact.js";

/** A package's folder (found from its entry point: not every package exports its package.json). */
function packageDir(name: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve(name)));
  while (!fs.existsSync(path.join(dir, "package.json")) || JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).name !== name) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package ${name} not found`);
    dir = up;
  }
  return dir;
}

export interface ServeOptions {
  /** The product: a Zarr store, or the reconstruct output folder holding product.zarr. */
  product: string;
  /** An evaluation folder whose stations (metrics, in-situ series) the viewer shows. */
  evaluation?: string;
  /** Or an ISMN download: its stations in the product's window, scored against the product here. */
  ismn?: string;
  port?: number;
  host?: string;
  /** Host names the viewer answers besides IP addresses, localhost, its address and this machine's name (".example.org": every name under it). */
  allowHosts?: string[];
  /** Where warnings go (a non-loopback address, a failed request): default stderr. */
  warn?: (message: string) => void;
}

export interface ViewerStation {
  id: string;
  lat: number;
  lon: number;
  /** Cube-local pixel index of the station's cell. */
  pixel: number;
  metrics: Record<string, number | string>;
  /** Daily in-situ values on the product's days, where the evaluation saved them. */
  insitu?: (number | null)[];
}

/** Where each packaged browser file comes from (nothing else under /vendor/ is served). */
function vendorFiles(): Map<string, string> {
  const pkg = packageDir;
  const files = new Map<string, string>([
    ["leaflet.js", path.join(pkg("leaflet"), "dist", "leaflet.js")],
    ["leaflet.css", path.join(pkg("leaflet"), "dist", "leaflet.css")],
    ["topojson-client.min.js", path.join(pkg("topojson-client"), "dist", "topojson-client.min.js")],
    ["countries-50m.json", worldAtlasFile()],
    ["vega.min.js", vegaRuntimeFile()],
  ]);
  // zarrita and its fetch store: ES modules served as they are, linked by the page's import map.
  const addTree = (prefix: string, dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || !e.name.endsWith(".js")) continue;
      const full = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      files.set(`${prefix}/${path.relative(dir, full).split(path.sep).join("/")}`, full);
    }
  };
  addTree("zarrita", path.join(pkg("zarrita"), "dist", "src"));
  addTree("zarrita-storage", path.join(pkg("@zarrita/storage"), "dist", "src"));
  return files;
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".html": "text/html; charset=utf-8",
  ".png": "image/png",
};

/** The file under `root` a URL path names, or undefined when it would leave `root` (or is not a file). */
export function containedFile(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0") || decoded.split(/[\\/]/).includes("..")) return undefined;
  const full = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
  const realRoot = fs.realpathSync(root);
  let real: string;
  try {
    real = fs.realpathSync(full);
  } catch {
    return undefined;
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return undefined;
  return fs.statSync(real).isFile() ? real : undefined;
}

export function resolveProductStore(p: string): string {
  const inside = path.join(p, "product.zarr");
  const store = fs.existsSync(path.join(inside, "zarr.json")) ? inside : p;
  if (!fs.existsSync(path.join(store, "zarr.json")))
    throw new SmapfillError("not a product (no zarr.json here or in product.zarr under it)", {
      file: p,
      hint: "Give the folder smapfill reconstruct --out wrote",
    });
  return store;
}

/** What the page needs besides the chunks: grid geometry, dates, layers, stations, the series chart. */
export async function viewerMeta(store: string, evaluationDir?: string, ismn?: string) {
  const product = await Cube.open(store);
  if (!product.hasVariable("soil_moisture_source"))
    throw new SmapfillError("this Zarr store is a cube, not a product (no soil_moisture_source)", {
      file: store,
      hint: "Run smapfill reconstruct on it first",
    });
  const absent = PRODUCT_VARIABLES.filter((v) => !product.hasVariable(v));
  if (absent.length)
    throw new SmapfillError(`this product lacks ${absent.join(", ")}, which the viewer shows`, {
      file: store,
      hint: "Reconstruct it again with this version of smapfill",
    });
  const w = product.window;
  const g = product.grid;
  const stations: ViewerStation[] = [];
  if (evaluationDir) {
    const file = path.join(evaluationDir, "evaluation.json");
    if (!fs.existsSync(file)) throw new SmapfillError("no evaluation.json in the evaluation folder", { file: evaluationDir, variable: "--evaluation" });
    const ev = JSON.parse(fs.readFileSync(file, "utf8")) as EvaluationResult;
    const figures = readFigureData(evaluationDir);
    // The product's own score at each station, from the evaluation's ISMN download when it is still there.
    const atStations =
      ev.config.ismn && fs.existsSync(ev.config.ismn)
        ? await productAtStations(product, ev.config.ismn, { flags: ev.config.ismnFlags, maxDepth: ev.config.ismnMaxDepth })
        : undefined;
    const offset = figures ? product.startDay - parseDay(figures.dates[0]!) : 0;
    for (const s of ev.insitu?.smap.perStation ?? []) {
      const id = `${s.network}/${s.station}`;
      const [row, col] = g.latLonToRowCol(s.lat, s.lon) ?? [-1, -1];
      const pixel = row >= w.row0 && row < w.row0 + w.nrows && col >= w.col0 && col < w.col0 + w.ncols ? (row - w.row0) * w.ncols + (col - w.col0) : -1;
      if (pixel < 0) continue;
      const metrics: Record<string, number | string> = { "SMAP RMSE (its days)": round(s.rmse), "SMAP days": s.n };
      const own = atStations?.stations.find((x) => x.network === s.network && x.station === s.station);
      if (own) ((metrics["product RMSE (gap days)"] = round(own.product.rmse)), (metrics["gap days"] = own.product.n));
      for (const m of ev.insitu!.models) {
        const st = m.gap.perStation.find((x) => x.network === s.network && x.station === s.station);
        if (st) metrics[`${modelLabel(m.model)} RMSE (gap days)`] = round(st.rmse);
      }
      const saved = figures?.stations.find((x) => x.network === s.network && x.station === s.station);
      const insitu = own?.insitu ?? (saved && Array.from({ length: product.days }, (_, t) => saved.insitu[t + offset] ?? null));
      stations.push({ id, lat: s.lat, lon: s.lon, pixel, metrics, insitu });
    }
  }
  if (ismn && !evaluationDir) stations.push(...(await ismnStations(product, ismn)));
  return {
    title: String(product.attributes.title ?? "smapfill product"),
    store: "/product/",
    dates: product.dates(),
    window: w,
    // Cell edges: rows are evenly spaced in EASE-2 y (not in latitude), so the page gets each edge.
    latEdges: Array.from({ length: w.nrows + 1 }, (_, r) => g.rowLatitude(w.row0 + r - 0.5)),
    lonEdges: Array.from({ length: w.ncols + 1 }, (_, c) => g.colLongitude(w.col0 + c - 0.5)),
    chunkDays: product.chunks.time,
    hasModel: product.hasVariable("soil_moisture_model"),
    flags: SOURCE_FLAG_STYLE,
    uncertaintyDomain: await uncertaintyDomain(product),
    model: String(product.attributes.model ?? ""),
    stations,
    // Two legends: a station's series has in situ values, any other pixel's has not.
    seriesSpec: compileSpec(
      seriesChart({ title: "", dates: [], smap: [], estimate: [], sigma: [], insitu: [], estimateLabel: "gap-free product", named: true, width: 480 }),
    ),
    pixelSeriesSpec: compileSpec(
      seriesChart({ title: "", dates: [], smap: [], estimate: [], sigma: [], estimateLabel: "gap-free product", named: true, width: 480 }),
    ),
  };
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/**
 * The uncertainty layer's colour scale: 0 to the 98th percentile of the reconstructed values'
 * sigma on up to 12 days spread over the product (a fixed scale would paint a region whose
 * uncertainty is all near 0.015 in one colour), rounded up to a readable step.
 */
async function uncertaintyDomain(product: Cube): Promise<[number, number]> {
  const days = Array.from({ length: Math.min(12, product.days) }, (_, k) => Math.floor(((k + 0.5) * product.days) / Math.min(12, product.days)));
  const values: number[] = [];
  for (const t of days) for (const v of await product.readBlock("soil_moisture_uncertainty", t, t + 1)) if (Number.isFinite(v)) values.push(v);
  if (!values.length) return [0, 0.08];
  values.sort((a, b) => a - b);
  const p98 = values[Math.min(values.length - 1, Math.floor(0.98 * values.length))]!;
  const step = 10 ** Math.floor(Math.log10(p98 || 0.01)) / 2;
  return [0, Math.max(step, Math.ceil(p98 / step) * step)];
}

/** An ISMN download's stations inside the product, with SMAP's and the product's RMSE against them. */
async function ismnStations(product: Cube, ismn: string): Promise<ViewerStation[]> {
  const { stations } = await productAtStations(product, ismn);
  return stations.map((st) => ({
    id: `${st.network}/${st.station}`,
    lat: st.lat,
    lon: st.lon,
    pixel: st.pixel,
    metrics: {
      "SMAP RMSE (its days)": round(st.smap.rmse),
      "SMAP days": st.smap.n,
      "product RMSE (gap days)": round(st.product.rmse),
      "gap days": st.product.n,
    },
    insitu: st.insitu,
  }));
}

export async function startServer(o: ServeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const store = resolveProductStore(o.product);
  const meta = JSON.stringify(await viewerMeta(store, o.evaluation, o.ismn));
  const vendor = vendorFiles();
  const staticDir = new URL("./static/", import.meta.url).pathname;
  const bound = o.host ?? "127.0.0.1";
  const hosts = new HostCheck(bound, o.allowHosts);
  const warn = o.warn ?? ((m: string) => void process.stderr.write(`${m}\n`));
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string | Buffer, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, {
        "content-type": type,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        // Other sites' pages may not embed these responses either.
        "cross-origin-resource-policy": "same-origin",
      });
      res.end(body);
    };
    try {
      if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed");
      // A page of another site whose name was made to resolve here sends its own name.
      const host = req.headers.host;
      if (host !== undefined && !hosts.accepts(host)) {
        const name = hostName(host) ?? "that name";
        return send(
          403,
          `this viewer does not answer to '${name.slice(0, 100)}': start it with --allow-host ${name.slice(0, 100)} to reach it under that name`,
        );
      }
      let url: URL;
      try {
        url = new URL(req.url ?? "/", "http://localhost");
      } catch {
        return send(400, "bad request");
      }
      // An absolute-form request names its host in the request line: the same rule holds.
      if (!(req.url ?? "/").startsWith("/") && !hosts.accepts(url.host)) return send(403, "this viewer does not answer to that host");
      const p = url.pathname;
      let file: string | undefined;
      if (p === "/" || p === "/index.html") file = path.join(staticDir, "viewer.html");
      else if (p === "/viewer.js" || p === "/viewer.css") file = path.join(staticDir, p.slice(1));
      else if (p === "/meta.json") return send(200, meta, TYPES[".json"]);
      else if (p.startsWith("/vendor/")) file = vendor.get(p.slice("/vendor/".length));
      else if (p.startsWith("/product/")) file = containedFile(store, p.slice("/product/".length));
      if (!file) return send(404, "not found");
      const fromProduct = p.startsWith("/product/");
      fs.readFile(file, (err, data) => {
        if (err) return send(404, "not found");
        // The product's metadata without the absolute paths of the machine that made it.
        if (fromProduct && file!.endsWith(".json")) return send(200, redactJson(data.toString("utf8")), TYPES[".json"]);
        send(200, data, TYPES[path.extname(file!)] ?? "application/octet-stream");
      });
    } catch (e) {
      // One bad request never takes the viewer down.
      warn(`serve: ${req.method} ${String(req.url).slice(0, 200)}: ${messageOf(e).split("\n")[0]}`);
      if (!res.headersSent) send(500, "internal error");
      else res.destroy();
    }
  });
  // Requests Node's parser refuses (a broken request line, headers too large) get 400, not a crash.
  server.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "EADDRINUSE"
          ? new SmapfillError(`port ${o.port} is in use`, { variable: "--port", hint: "Choose another port, or --port 0 for any free one" })
          : e,
      ),
    );
    server.listen(o.port ?? 8731, o.host ?? "127.0.0.1", resolve);
  });
  const a = server.address() as AddressInfo;
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  if (!isLoopback(bound))
    warn(
      `warning: --host ${bound}: the viewer is open to every machine that reaches this one on port ${a.port}, without a password (the product, the stations); to share it with one person, keep 127.0.0.1 and let them use an SSH tunnel (ssh -L ${a.port}:127.0.0.1:${a.port} THIS-MACHINE)`,
    );
  return {
    url: `http://${host}:${a.port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
