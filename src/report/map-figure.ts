/**
 * Maps of one value per cell of an EASE-Grid 2.0 window, for the report: the raster resampled
 * (nearest cell) onto a regular longitude/latitude grid, so it lines up with longitude/latitude
 * axes whose grid lines are the graticule; country borders from Natural Earth (world-atlas)
 * on top; a viridis colour legend with units. EASE-2 rows are evenly spaced in sin(latitude),
 * not in latitude, which is why the raster is resampled rather than stretched.
 */
import type { Ease2Grid, Window } from "../grid/ease2.js";
import { latitudeToY, longitudeToX } from "../grid/ease2.js";
import { RgbaImage, schemeColor } from "./raster.js";
import type { BorderLine } from "./borders.js";
import type { VegaLiteSpec } from "./vega.js";

export interface MapInput {
  title: string;
  values: Float32Array;
  grid: Ease2Grid;
  window: Window;
  /** Legend title with units, e.g. "share of days" or "m3/m3". */
  legend: string;
  domain?: [number, number];
  format?: string;
  borders?: BorderLine[];
  /** Label of cells without a value. */
  missingLabel?: string;
}

/** The window's outer edges in degrees. */
export function windowExtent(grid: Ease2Grid, w: Window): { west: number; east: number; south: number; north: number } {
  // Fractional rows/columns: -0.5 from a centre is the cell's edge.
  const west = grid.colLongitude(w.col0 - 0.5);
  const east = grid.colLongitude(w.col0 + w.ncols - 0.5);
  const north = grid.rowLatitude(w.row0 - 0.5);
  const south = grid.rowLatitude(w.row0 + w.nrows - 0.5);
  return { west, east, south, north };
}

/** The raster on a regular lon/lat grid as a PNG data URL (viridis; NaN light grey), and its size. */
export function mapRaster(
  values: Float32Array,
  grid: Ease2Grid,
  w: Window,
  domain: [number, number],
  width: number,
  height: number,
  scheme = "viridis",
): string {
  const e = windowExtent(grid, w);
  const image = new RgbaImage(width, height);
  const grey: [number, number, number] = [230, 230, 230];
  const cols = Int32Array.from({ length: width }, (_, j) => grid.xToCol(longitudeToX(e.west + ((j + 0.5) / width) * (e.east - e.west))) - w.col0);
  for (let i = 0; i < height; i++) {
    const lat = e.north - ((i + 0.5) / height) * (e.north - e.south);
    const r = grid.yToRow(latitudeToY(lat)) - w.row0;
    for (let j = 0; j < width; j++) {
      const c = cols[j]!;
      const v = r >= 0 && r < w.nrows && c >= 0 && c < w.ncols ? values[r * w.ncols + c]! : NaN;
      image.set(j, i, Number.isFinite(v) ? schemeColor((v - domain[0]) / (domain[1] - domain[0] || 1), scheme) : grey);
    }
  }
  return `data:image/png;base64,${Buffer.from(image.png()).toString("base64")}`;
}

export function mapChart(m: MapInput): VegaLiteSpec {
  const finite = Array.from(m.values).filter(Number.isFinite);
  const domain: [number, number] = m.domain ?? [finite.length ? Math.min(...finite) : 0, finite.length ? Math.max(...finite) : 1];
  const e = windowExtent(m.grid, m.window);
  const midLat = ((e.north + e.south) / 2) * (Math.PI / 180);
  // Plate carree with the mid-latitude's aspect: a degree of longitude is cos(lat) of one of latitude.
  const aspect = ((e.east - e.west) * Math.cos(midLat)) / (e.north - e.south);
  const width = aspect >= 1 ? 360 : Math.max(160, Math.round(330 * aspect));
  const height = Math.max(160, Math.round(width / aspect));
  const raster = mapRaster(m.values, m.grid, m.window, domain, Math.min(width, m.window.ncols * 4), Math.min(height, m.window.nrows * 4));
  // The axes' grid lines, drawn over the raster, are the graticule.
  const axis = { grid: true, zindex: 1, gridColor: "#ffffff", gridOpacity: 0.45, tickCount: 5 };
  const x = { field: "lon", type: "quantitative", title: "longitude (deg E)", scale: { domain: [e.west, e.east], nice: false, zero: false }, axis };
  const y = { field: "lat", type: "quantitative", title: "latitude (deg N)", scale: { domain: [e.south, e.north], nice: false, zero: false }, axis };
  const missing = finite.length < m.values.length;
  return {
    title: m.title,
    width,
    height,
    layer: [
      {
        data: { values: [{ lon: e.west, lat: e.north, lon2: e.east, lat2: e.south, url: raster }] },
        mark: { type: "image", aspect: false, align: "left", baseline: "top" },
        encoding: { x, y, x2: { field: "lon2" }, y2: { field: "lat2" }, url: { field: "url", type: "nominal" } },
      },
      ...(m.borders?.length
        ? [
            {
              data: { values: m.borders.flatMap((line, id) => line.map(([lon, lat], k) => ({ lon, lat, id, k }))) },
              mark: { type: "line", color: "#222", strokeWidth: 0.8, clip: true },
              encoding: { x, y, detail: { field: "id", type: "nominal" }, order: { field: "k", type: "quantitative" } },
            },
          ]
        : []),
      // The colour legend: an invisible mark carrying the colour scale.
      {
        data: { values: [{ v: domain[0] }, { v: domain[1] }] },
        mark: { type: "point", opacity: 0 },
        encoding: {
          x: { datum: e.west, type: "quantitative" },
          y: { datum: e.south, type: "quantitative" },
          color: {
            field: "v",
            type: "quantitative",
            scale: { scheme: "viridis", domain },
            title: m.legend,
            legend: { format: m.format ?? ".2f", gradientLength: Math.min(160, height - 20) },
          },
        },
      },
    ],
    ...(missing ? { description: `light grey: ${m.missingLabel ?? "no value"}` } : {}),
  } as unknown as VegaLiteSpec;
}

/** Where the region is: the world's land (Natural Earth 1:110m) with the region's outline. */
export function locatorChart(land: unknown[], e: { west: number; east: number; south: number; north: number }): VegaLiteSpec {
  const ring: [number, number][] = [];
  const steps = 16;
  // Densified edges, so the outline follows the projection; a line, not a polygon (a polygon's
  // winding decides for d3-geo whether it is the region or the rest of the globe).
  for (let i = 0; i <= steps; i++) ring.push([e.west + ((e.east - e.west) * i) / steps, e.south]);
  for (let i = 0; i <= steps; i++) ring.push([e.east, e.south + ((e.north - e.south) * i) / steps]);
  for (let i = 0; i <= steps; i++) ring.push([e.east - ((e.east - e.west) * i) / steps, e.north]);
  for (let i = 0; i <= steps; i++) ring.push([e.west, e.north - ((e.north - e.south) * i) / steps]);
  const region = { type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: ring } };
  const pad = Math.max(e.east - e.west, e.north - e.south);
  const centre = { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [(e.west + e.east) / 2, (e.south + e.north) / 2] } };
  return {
    title: "Where",
    width: 260,
    height: 150,
    projection: { type: "equalEarth" },
    layer: [
      { data: { values: land }, mark: { type: "geoshape", fill: "#d9d9d9", stroke: "#999", strokeWidth: 0.3 } },
      { data: { values: [region] }, mark: { type: "geoshape", filled: false, stroke: "#d62728", strokeWidth: 1.5 } },
      // A marker too: a 9 km region is a speck at world scale.
      ...(pad < 8 ? [{ data: { values: [centre] }, mark: { type: "geoshape", color: "#d62728", pointRadius: 4 } }] : []),
    ],
  } as unknown as VegaLiteSpec;
}
