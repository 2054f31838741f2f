// smapfill viewer: reads the product's Zarr chunks with zarrita, draws one day of one layer as
// a canvas overlay on a Leaflet map (resampled from the EASE-2 rows to Web Mercator rows), and a
// clicked pixel's (or station's) series with vega. Plain browser JavaScript, no build step.
import * as zarr from "zarrita";

const state = (window.viewer = { ready: false, day: 0, drawnDay: -1, layer: "product", seriesPixel: -1, seriesPoints: 0, errors: [] });
const $ = (id) => document.getElementById(id);
const status = (text) => ($("status").textContent = text);

const LAYERS = {
  smap: { label: "original SMAP", unit: "m3/m3", domain: [0, 0.5], ramp: viridis },
  product: { label: "gap-free product", unit: "m3/m3", domain: [0, 0.5], ramp: viridis },
  difference: { label: "model minus SMAP", unit: "m3/m3", domain: [-0.1, 0.1], ramp: diverging },
  uncertainty: { label: "uncertainty (1 sigma)", unit: "m3/m3", domain: [0, 0.08], ramp: viridis }, // domain: the product's, from meta.json
  source: { label: "source flag", categorical: true },
};
// value -> colour and label, from meta.json (the same table the COG's colour table comes from).
const FLAG_COLORS = {};
const FLAG_LABELS = {};

// Viridis, 9 stops (matplotlib's), interpolated.
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];
function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS[i].map((v, k) => Math.round(v + f * (VIRIDIS[i + 1][k] - v)));
}
// Blue - white - red, symmetric about zero.
function diverging(t) {
  const x = Math.min(1, Math.max(0, t));
  const blue = [33, 102, 172],
    red = [178, 24, 43],
    white = [247, 247, 247];
  const [a, b, f] = x < 0.5 ? [blue, white, x / 0.5] : [white, red, (x - 0.5) / 0.5];
  return a.map((v, k) => Math.round(v + f * (b[k] - v)));
}
const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

async function main() {
  const meta = await (await fetch("/meta.json")).json();
  state.meta = meta;
  for (const f of meta.flags) ((FLAG_COLORS[f.value] = f.color), (FLAG_LABELS[f.value] = f.label));
  LAYERS.uncertainty.domain = meta.uncertaintyDomain;
  $("title").textContent = `${meta.title}: ${meta.dates[0]} to ${meta.dates[meta.dates.length - 1]}`;
  const { nrows, ncols } = meta.window;
  const root = zarr.root(new zarr.FetchStore(new URL(meta.store, location.href).href));
  // Zarr v3 (what reconstruct writes): no probing for v2 files first.
  const open = (name) => zarr.open.v3(root.resolve(name), { kind: "array" });
  const arrays = {
    sm: await open("soil_moisture"),
    unc: await open("soil_moisture_uncertainty"),
    src: await open("soil_moisture_source"),
    model: meta.hasModel ? await open("soil_moisture_model") : null,
  };
  if (!meta.hasModel) {
    const opt = $("layer").querySelector('option[value="difference"]');
    opt.disabled = true;
    opt.title = "needs reconstruct --everywhere";
  }

  // Blocks of chunk-aligned days, cached (a day's map costs one chunk read per variable).
  const cache = new Map();
  async function dayOf(name, t) {
    const c0 = Math.floor(t / meta.chunkDays) * meta.chunkDays;
    const key = `${name}:${c0}`;
    if (!cache.has(key)) {
      if (cache.size > 24) cache.delete(cache.keys().next().value);
      const c1 = Math.min(meta.dates.length, c0 + meta.chunkDays);
      cache.set(key, zarr.get(arrays[name], [zarr.slice(c0, c1), null, null]));
    }
    const block = await cache.get(key);
    const P = nrows * ncols;
    return block.data.subarray((t - c0) * P, (t - c0 + 1) * P);
  }

  // The map: Web Mercator (Leaflet's), the product's extent, borders and coastlines.
  const north = meta.latEdges[0],
    south = meta.latEdges[nrows],
    west = meta.lonEdges[0],
    east = meta.lonEdges[ncols];
  const bounds = L.latLngBounds([south, west], [north, east]);
  const map = L.map("map", { zoomSnap: 0.25, attributionControl: true });
  map.attributionControl.addAttribution("borders: Natural Earth 1:50m (world-atlas)");
  map.fitBounds(bounds.pad(0.05));
  const atlas = await (await fetch("/vendor/countries-50m.json")).json();
  const borders = topojson.mesh(atlas, atlas.objects.countries);
  const land = topojson.mesh(atlas, atlas.objects.land);
  L.geoJSON(
    { type: "FeatureCollection", features: [borders, land].map((g) => ({ type: "Feature", geometry: g, properties: {} })) },
    {
      style: { color: "#222", weight: 1, fill: false },
      interactive: false,
    },
  ).addTo(map);

  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  // A graticule: meridians and parallels at a round step that gives a few lines over the product.
  const span = Math.max(east - west, north - south);
  const step = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30].find((d) => span / d <= 6) ?? 30;
  const graticule = L.layerGroup().addTo(map);
  for (let lon = Math.ceil((west - span) / step) * step; lon <= east + span; lon += step) {
    L.polyline(
      [
        [south - span, lon],
        [north + span, lon],
      ],
      { color: "#555", weight: 0.6, opacity: 0.6, dashArray: "2 4", interactive: false, className: "graticule" },
    ).addTo(graticule);
    L.marker([south, lon], { interactive: false, icon: L.divIcon({ className: "graticule-label", html: `${+lon.toFixed(2)}°E`, iconSize: null }) }).addTo(
      graticule,
    );
  }
  for (let lat = Math.ceil((south - span) / step) * step; lat <= north + span; lat += step) {
    L.polyline(
      [
        [lat, west - span],
        [lat, east + span],
      ],
      { color: "#555", weight: 0.6, opacity: 0.6, dashArray: "2 4", interactive: false, className: "graticule" },
    ).addTo(graticule);
    L.marker([lat, west], { interactive: false, icon: L.divIcon({ className: "graticule-label", html: `${+lat.toFixed(2)}°N`, iconSize: null }) }).addTo(
      graticule,
    );
  }

  // Canvas rows are evenly spaced in Mercator y; each takes the EASE-2 row its latitude falls in.
  const scale = Math.max(1, Math.min(8, Math.floor(1400 / Math.max(nrows, ncols))));
  const W = ncols * scale,
    H = nrows * scale;
  const mercY = (lat) => Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360));
  const latOf = (y) => (360 / Math.PI) * Math.atan(Math.exp(y)) - 90;
  const rowOfLat = (lat) => {
    if (lat > north || lat < south) return -1;
    let r = 0;
    while (r < nrows - 1 && meta.latEdges[r + 1] > lat) r++;
    return r;
  };
  const colOfLon = (lon) => (lon < west || lon > east ? -1 : Math.min(ncols - 1, Math.floor(((lon - west) / (east - west)) * ncols)));
  const rowIndex = Int32Array.from({ length: H }, (_, i) => rowOfLat(latOf(mercY(north) + ((i + 0.5) / H) * (mercY(south) - mercY(north)))));
  const colIndex = Int32Array.from({ length: W }, (_, j) => colOfLon(west + ((j + 0.5) / W) * (east - west)));
  const canvas = document.createElement("canvas");
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext("2d");
  const overlay = L.imageOverlay(canvas.toDataURL(), bounds, { opacity: 0.92, className: "smap-layer" }).addTo(map);
  overlay.getElement().style.imageRendering = "pixelated";

  async function layerValues(layer, t) {
    if (layer === "product") return dayOf("sm", t);
    if (layer === "uncertainty") return dayOf("unc", t);
    const src = await dayOf("src", t);
    if (layer === "source") return src;
    const sm = await dayOf("sm", t);
    if (layer === "smap") return sm.map((v, k) => (src[k] >= 1 && src[k] <= 3 ? v : NaN));
    const model = await dayOf("model", t);
    return model.map((v, k) => (src[k] >= 1 && src[k] <= 3 ? v - sm[k] : NaN));
  }

  let drawing = Promise.resolve();
  function draw() {
    drawing = drawing
      .then(async () => {
        const t = state.day;
        const layer = state.layer;
        const values = await layerValues(layer, t);
        state.drawn = { values, src: await dayOf("src", t), sm: await dayOf("sm", t), unc: await dayOf("unc", t) };
        const spec = LAYERS[layer];
        const image = ctx.createImageData(W, H);
        const px = image.data;
        for (let i = 0; i < H; i++) {
          const r = rowIndex[i];
          if (r < 0) continue;
          for (let j = 0; j < W; j++) {
            const c = colIndex[j];
            if (c < 0) continue;
            const v = values[r * ncols + c];
            let rgb;
            if (spec.categorical) rgb = v && FLAG_COLORS[v] ? hex(FLAG_COLORS[v]) : null;
            else if (Number.isFinite(v)) rgb = spec.ramp((v - spec.domain[0]) / (spec.domain[1] - spec.domain[0]));
            if (!rgb) continue;
            const k = (i * W + j) * 4;
            px[k] = rgb[0];
            px[k + 1] = rgb[1];
            px[k + 2] = rgb[2];
            px[k + 3] = 255;
          }
        }
        ctx.putImageData(image, 0, 0);
        overlay.setUrl(canvas.toDataURL());
        state.drawnDay = t;
        state.drawnLayer = layer;
        await moveCursor();
        $("date").textContent = meta.dates[t];
        status(`${LAYERS[layer].label}, ${meta.dates[t]}`);
      })
      .catch((e) => {
        state.errors.push(String(e));
        status(`error: ${e}`);
      });
    return drawing;
  }

  function legend() {
    const spec = LAYERS[state.layer];
    const el = $("legend");
    el.innerHTML = "";
    if (spec.categorical) {
      el.innerHTML =
        `<b>source flag</b><br>` +
        meta.flags
          .filter((f) => f.value > 0)
          .map((f) => `<span class="flag" style="background:${f.color}"></span>${f.value} ${f.label}`)
          .join("<br>");
      return;
    }
    const bar = document.createElement("canvas");
    bar.width = 260;
    bar.height = 14;
    const g = bar.getContext("2d");
    for (let x = 0; x < 260; x++) {
      const [r, gg, b] = spec.ramp(x / 259);
      g.fillStyle = `rgb(${r},${gg},${b})`;
      g.fillRect(x, 0, 1, 14);
    }
    const title = document.createElement("div");
    title.innerHTML = `<b>${spec.label}</b> (${spec.unit})`;
    const ticks = document.createElement("div");
    ticks.className = "ticks";
    ticks.innerHTML = [0, 0.25, 0.5, 0.75, 1].map((f) => `<span>${+(spec.domain[0] + f * (spec.domain[1] - spec.domain[0])).toPrecision(3)}</span>`).join("");
    el.append(title, bar, ticks);
  }

  // A pixel's whole series (one read per variable along time) and the chart.
  let seriesView, selected;
  // The series' cursor: a dashed line at the map's day.
  async function moveCursor() {
    if (!seriesView || !state.seriesTime) return;
    seriesView.data("cursor", [{ date: state.seriesTime[state.day] }]);
    await seriesView.runAsync();
    state.cursorDay = state.day;
  }
  async function drawSeries(pixel, station) {
    const r = Math.floor(pixel / ncols),
      c = pixel % ncols;
    const get = (a) => zarr.get(a, [null, r, c]).then((x) => x.data);
    const [sm, unc, src] = await Promise.all([get(arrays.sm), get(arrays.unc), get(arrays.src)]);
    const time = meta.dates.map((d) => Date.UTC(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10)));
    const series = [],
      band = [],
      gaps = [],
      unfilled = [];
    // Lines and the band are drawn per run of days with a value: never across a day without one.
    let seg = 0,
      insituSeg = 0;
    for (let t = 0; t < time.length; t++) {
      const observed = src[t] >= 1 && src[t] <= 3;
      const filled = Number.isFinite(sm[t]);
      if (t > 0 && !Number.isFinite(sm[t - 1])) seg++;
      if (filled) {
        series.push({ date: time[t], series: "gap-free product", value: sm[t], seg: `p${seg}` });
        const half = observed || !Number.isFinite(unc[t]) ? 0 : 1.645 * unc[t];
        band.push({ date: time[t], low: sm[t] - half, high: sm[t] + half, seg });
      } else unfilled.push({ from: time[t], to: time[t] + 86400000 });
      if (observed) series.push({ date: time[t], series: "SMAP", value: sm[t] });
      else if (filled) gaps.push({ from: time[t], to: time[t] + 86400000 });
      const v = station?.insitu?.[t];
      if (v !== null && v !== undefined) series.push({ date: time[t], series: "in situ", value: v, seg: `i${insituSeg}` });
      else insituSeg++;
    }
    state.seriesUnfilled = unfilled.length;
    const el = $("series");
    const [lat, lon] = [(meta.latEdges[r] + meta.latEdges[r + 1]) / 2, (meta.lonEdges[c] + meta.lonEdges[c + 1]) / 2];
    el.innerHTML = `<p><b>${station ? station.id : "pixel"}</b> row ${r}, column ${c} (${lat.toFixed(3)} N, ${lon.toFixed(3)} E): SMAP, the product with its 90 % interval${station?.insitu ? ", in situ" : ""}; grey: days without SMAP; red: days the product could not fill; dashed: the map's day.</p><div id="series-chart"></div>`;
    // The clicked cell, outlined on the map.
    selected?.remove();
    selected = L.rectangle(
      [
        [meta.latEdges[r + 1], meta.lonEdges[c]],
        [meta.latEdges[r], meta.lonEdges[c + 1]],
      ],
      { color: "#d62728", weight: 2, fill: false, interactive: false, className: "selected-cell" },
    ).addTo(map);
    state.selectedCell = [r, c];
    seriesView?.finalize();
    const spec = station?.insitu ? meta.seriesSpec : meta.pixelSeriesSpec;
    seriesView = new vega.View(vega.parse(spec), { renderer: "svg", container: "#series-chart", hover: true });
    seriesView.data("gaps", gaps).data("unfilled", unfilled).data("band", band).data("series", series);
    await seriesView.runAsync();
    state.seriesTime = time;
    await moveCursor();
    state.seriesPixel = pixel;
    state.seriesInsitu = Boolean(station?.insitu);
    state.seriesPoints = series.length;
  }

  // Hover: the value, its cell and its source flag.
  map.on("mousemove", (e) => {
    const r = rowOfLat(e.latlng.lat),
      c = colOfLon(e.latlng.lng);
    const el = $("hover");
    if (r < 0 || c < 0 || !state.drawn) return void ((el.textContent = ""), (state.hover = null));
    const k = r * ncols + c;
    const { values, src } = state.drawn;
    const spec = LAYERS[state.layer];
    const v = values[k];
    const text = spec.categorical ? "" : Number.isFinite(v) ? `${v.toFixed(4)} ${spec.unit}` : "no value";
    const [lat, lon] = [(meta.latEdges[r] + meta.latEdges[r + 1]) / 2, (meta.lonEdges[c] + meta.lonEdges[c + 1]) / 2];
    state.hover = { row: r, col: c, value: v, flag: src[k] };
    el.innerHTML = `${lat.toFixed(3)}° N, ${lon.toFixed(3)}° E (row ${r}, column ${c}) ${meta.dates[state.day]}: <b>${spec.label}</b> ${text}; source: ${FLAG_LABELS[src[k]] ?? "none"}`;
  });
  map.on("mouseout", () => (($("hover").textContent = ""), (state.hover = null)));
  map.on("click", (e) => {
    const r = rowOfLat(e.latlng.lat),
      c = colOfLon(e.latlng.lng);
    if (r < 0 || c < 0) return;
    drawSeries(r * ncols + c).catch((err) => state.errors.push(String(err)));
  });
  for (const s of meta.stations) {
    const rows = Object.entries(s.metrics)
      .map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`)
      .join("");
    L.circleMarker([s.lat, s.lon], { radius: 6, color: "#fff", weight: 2, fillColor: "#d62728", fillOpacity: 1, className: "station-marker" })
      .bindPopup(`<b>${s.id}</b><table class="metrics">${rows}</table>`)
      .on("click", () => drawSeries(s.pixel, s).catch((err) => state.errors.push(String(err))))
      .addTo(map);
  }

  const slider = $("day");
  slider.max = String(meta.dates.length - 1);
  slider.addEventListener("input", () => ((state.day = Number(slider.value)), draw()));
  $("layer").addEventListener("change", (e) => ((state.layer = e.target.value), legend(), draw()));
  let timer;
  $("play").addEventListener("click", () => {
    if (timer) return void ((timer = clearInterval(timer)), ($("play").innerHTML = "&#9654;"));
    $("play").innerHTML = "&#10074;&#10074;";
    timer = setInterval(() => {
      slider.value = String((Number(slider.value) + 1) % meta.dates.length);
      state.day = Number(slider.value);
      draw();
    }, 500);
  });
  legend();
  await draw();
  state.ready = true;
}

main().catch((e) => {
  state.errors.push(String(e && e.stack ? e.stack : e));
  status(`error: ${e}`);
});
