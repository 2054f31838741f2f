/**
 * Regridding of regular lat/lon (EPSG:4326) or EASE-2 x/y (EPSG:6933) rasters onto a window of
 * an EASE-Grid 2.0 grid.
 *
 * EASE-2 cells are exact rectangles in latitude/longitude (the projection is cylindrical), and so
 * are the source cells; the overlap of a target and a source cell therefore factorises into a
 * row part and a column part, and every method is a pair of sparse 1-D weight lists:
 *
 *  - average: area-weighted mean of the overlapping source cells (for sources finer than the
 *    target, e.g. a 1 km DEM -> 9 km). Weights: overlap in longitude x overlap in sin(latitude)
 *    (exact cell areas on the authalic sphere), or in x and y for EASE-2 sources. Missing
 *    source cells are left out and the weights renormalised, as gdalwarp -r average does.
 *  - bilinear: interpolation between the four source cell centres around the target centre
 *    (for sources coarser than the target, e.g. 0.25 deg -> 9 km); missing neighbours are left
 *    out and the weights renormalised, as GDAL does with nodata.
 *  - nearest: the source cell containing the target centre (categories, flags).
 *  - fractions: for categorical layers, the area share of each class in the target cell.
 *
 * Longitudes 0..360 are handled, and global sources wrap across the antimeridian. A region the
 * source does not cover is an error that names the file and both extents.
 */
import { SmapfillError } from "../util/errors.js";
import { Ease2Grid, type Window } from "./ease2.js";

export type Crs = "EPSG:4326" | "EPSG:6933";

/** The axes of a source raster (what regridding needs of it; the readers in io/ fill them in). */
export interface RasterAxes {
  crs: Crs;
  /** Cell-centre x (longitude or metres) in file order. */
  xs: Float64Array;
  /** Cell-centre y (latitude or metres) in file order. */
  ys: Float64Array;
}

export type Resampling = "average" | "bilinear" | "nearest" | "fractions";

/** Sparse 1-D weights: for each target index, source indices (into the read window) and weights. */
interface AxisWeights {
  index: Int32Array[];
  weight: Float64Array[];
}

export interface RegridPlan {
  method: Resampling;
  /** The source window to read: rows [y0, y1), cols [x0, x1). */
  y0: number;
  y1: number;
  x0: number;
  x1: number;
  /** Target cells (window rows x cols). */
  size: number;
  /** Regrids one source window [y][x] to the target window (row-major). */
  apply(source: Float32Array): Float32Array;
  /** Class fractions (method "fractions"): one array per class, in the order of `classes`. */
  applyFractions(source: Float32Array, classes: number[]): Float32Array[];
}

const RAD = Math.PI / 180;

/** Cell edges from cell centres (midpoints; the outer edges half a spacing out). */
function edgesOf(centres: Float64Array): Float64Array {
  const n = centres.length;
  const edges = new Float64Array(n + 1);
  if (n === 1) {
    edges[0] = centres[0]! - 0.5;
    edges[1] = centres[0]! + 0.5;
    return edges;
  }
  for (let i = 1; i < n; i++) edges[i] = (centres[i - 1]! + centres[i]!) / 2;
  edges[0] = centres[0]! - (edges[1]! - centres[0]!);
  edges[n] = centres[n - 1]! + (centres[n - 1]! - edges[n - 1]!);
  return edges;
}

interface TargetAxis {
  /** Target cell edges (lo, hi) and centres along one axis, in source coordinates. */
  lo: Float64Array;
  hi: Float64Array;
  centre: Float64Array;
}

/** A source axis, made increasing; `order` maps increasing positions back to file indices. */
interface SourceAxis {
  centres: Float64Array;
  edges: Float64Array;
  fileIndex: (k: number) => number;
  n: number;
  /** Period for wrapping (360 for global longitudes), or 0. */
  period: number;
}

function sourceAxis(values: Float64Array, period: number): SourceAxis {
  const n = values.length;
  const descending = n > 1 && values[1]! < values[0]!;
  const centres = descending ? Float64Array.from(values).reverse() : Float64Array.from(values);
  for (let i = 1; i < n; i++) {
    if (!(centres[i]! > centres[i - 1]!)) throw new Error("coordinates are not monotonic");
  }
  return { centres, edges: edgesOf(centres), fileIndex: descending ? (k) => n - 1 - k : (k) => k, n, period };
}

/** Overlap weights of target intervals with source cells; measure() maps a coordinate to length/area. */
function overlapWeights(target: TargetAxis, source: SourceAxis, measure: (v: number) => number): { k: number[]; w: number[] }[] {
  const out: { k: number[]; w: number[] }[] = [];
  for (let t = 0; t < target.lo.length; t++) {
    const k: number[] = [];
    const w: number[] = [];
    for (const shift of source.period ? [-source.period, 0, source.period] : [0]) {
      const lo = target.lo[t]! - shift;
      const hi = target.hi[t]! - shift;
      let a = upperBound(source.edges, lo) - 1;
      a = Math.max(0, a);
      for (let s = a; s < source.n && source.edges[s]! < hi; s++) {
        const ov = measure(Math.min(hi, source.edges[s + 1]!)) - measure(Math.max(lo, source.edges[s]!));
        if (ov > 0) {
          k.push(s);
          w.push(ov);
        }
      }
    }
    out.push({ k, w });
  }
  return out;
}

/** Bilinear 1-D weights: the two source centres around the target centre. */
function linearWeights(target: TargetAxis, source: SourceAxis): { k: number[]; w: number[] }[] {
  const c = source.centres;
  const n = source.n;
  return Array.from(target.centre, (x0) => {
    let x = x0;
    if (source.period) {
      // Bring x into [c0, c0 + period).
      x = c[0]! + ((((x - c[0]!) % source.period) + source.period) % source.period);
    }
    if (x < c[0]!) return source.period ? wrapPair(x, c, source.period) : { k: [0], w: [1] };
    if (x >= c[n - 1]!) return source.period ? wrapPair(x, c, source.period) : { k: [n - 1], w: [1] };
    const j = upperBound(c, x) - 1;
    const f = (x - c[j]!) / (c[j + 1]! - c[j]!);
    return { k: [j, j + 1], w: [1 - f, f] };
  });
}

function wrapPair(x: number, c: Float64Array, period: number): { k: number[]; w: number[] } {
  const n = c.length;
  const last = c[n - 1]!;
  const first = c[0]! + period;
  const xx = x < c[0]! ? x + period : x;
  const f = (xx - last) / (first - last);
  return { k: [n - 1, 0], w: [1 - f, f] };
}

function nearestWeights(target: TargetAxis, source: SourceAxis): { k: number[]; w: number[] }[] {
  return Array.from(target.centre, (x0) => {
    let x = x0;
    if (source.period) x = source.edges[0]! + ((((x - source.edges[0]!) % source.period) + source.period) % source.period);
    const j = Math.min(source.n - 1, Math.max(0, upperBound(source.edges, x) - 1));
    return { k: [j], w: [1] };
  });
}

/** The first index i with values[i] > x (values increasing). */
function upperBound(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface PlanOptions {
  /** For error messages. */
  file?: string;
  variable?: string;
  /** average: the smallest share of the target cell that valid source cells must cover (default 0). */
  minCoverage?: number;
  /** Accept a source that covers part of the region: cells whose centre lies outside it get no value. */
  partial?: boolean;
}

/** Builds the regridding of `source` onto `window` of `grid` by `method`. */
export function planRegrid(source: RasterAxes, grid: Ease2Grid, window: Window, method: Resampling, options: PlanOptions = {}): RegridPlan {
  const geographic = source.crs === "EPSG:4326";
  const xsRaw = source.xs;
  // Longitudes: use the source's convention (0..360 or -180..180) for the target too.
  const zeroTo360 = geographic && xsRaw.length > 0 && Math.max(...xsRaw) > 180;
  const spanX = xsRaw.length > 1 ? Math.abs(xsRaw[xsRaw.length - 1]! - xsRaw[0]!) + Math.abs(xsRaw[1]! - xsRaw[0]!) : 0;
  const period = geographic && spanX > 359.5 ? 360 : 0;
  const sx = sourceAxis(xsRaw, period);
  const sy = sourceAxis(source.ys, 0);

  const targetX: TargetAxis = { lo: new Float64Array(window.ncols), hi: new Float64Array(window.ncols), centre: new Float64Array(window.ncols) };
  const targetY: TargetAxis = { lo: new Float64Array(window.nrows), hi: new Float64Array(window.nrows), centre: new Float64Array(window.nrows) };
  for (let j = 0; j < window.ncols; j++) {
    const col = window.col0 + j;
    if (geographic) {
      const b = grid.cellBounds(window.row0, col);
      const shift = zeroTo360 && b.west < 0 ? 360 : 0;
      targetX.lo[j] = b.west + shift;
      targetX.hi[j] = b.east + shift;
      targetX.centre[j] = grid.colLongitude(col) + (zeroTo360 && grid.colLongitude(col) < 0 ? 360 : 0);
    } else {
      targetX.centre[j] = grid.colToX(col);
      targetX.lo[j] = targetX.centre[j]! - grid.cellSize / 2;
      targetX.hi[j] = targetX.centre[j]! + grid.cellSize / 2;
    }
  }
  for (let i = 0; i < window.nrows; i++) {
    const row = window.row0 + i;
    if (geographic) {
      const b = grid.cellBounds(row, window.col0);
      targetY.lo[i] = b.south;
      targetY.hi[i] = b.north;
      targetY.centre[i] = grid.rowLatitude(row);
    } else {
      targetY.centre[i] = grid.rowToY(row);
      targetY.lo[i] = targetY.centre[i]! - grid.cellSize / 2;
      targetY.hi[i] = targetY.centre[i]! + grid.cellSize / 2;
    }
  }
  checkCoverage(targetX, targetY, sx, sy, options, geographic);
  // Cells whose centre lies outside the source (only with `partial`) get no value.
  const insideX = Uint8Array.from(targetX.centre, (c) => (sx.period > 0 || (c >= sx.edges[0]! && c <= sx.edges[sx.n]!) ? 1 : 0));
  const insideY = Uint8Array.from(targetY.centre, (c) => (c >= sy.edges[0]! && c <= sy.edges[sy.n]! ? 1 : 0));

  const lengthX = (v: number) => v;
  const areaY = geographic ? (v: number) => Math.sin(v * RAD) : (v: number) => v;
  let wx: { k: number[]; w: number[] }[];
  let wy: { k: number[]; w: number[] }[];
  let centreX: number[] | undefined;
  let centreY: number[] | undefined;
  if (method === "average" || method === "fractions") {
    wx = overlapWeights(targetX, sx, lengthX);
    wy = overlapWeights(targetY, sy, areaY);
  } else if (method === "bilinear") {
    wx = linearWeights(targetX, sx);
    wy = linearWeights(targetY, sy);
    // Like GDAL: no value where the source cell containing the target centre is missing, so
    // that interpolation never fills the source's own gaps (coasts, retrieval gaps).
    centreX = nearestWeights(targetX, sx).map((w) => w.k[0]!);
    centreY = nearestWeights(targetY, sy).map((w) => w.k[0]!);
  } else if (method === "nearest") {
    wx = nearestWeights(targetX, sx);
    wy = nearestWeights(targetY, sy);
  } else {
    throw new SmapfillError(`unknown resampling '${method}'`, { ...options, hint: "Use average, bilinear, nearest or fractions" });
  }

  // The source window to read, in file indices (the whole axis when a wrap is needed).
  const fileRange = (weights: { k: number[] }[], axis: SourceAxis) => {
    const files = weights.flatMap((w) => w.k.map(axis.fileIndex));
    const lo = Math.min(...files);
    const hi = Math.max(...files) + 1;
    const wraps = axis.period > 0 && weights.some((w) => w.k.length > 1 && Math.abs(w.k[0]! - w.k[w.k.length - 1]!) > axis.n / 2);
    return wraps ? [0, axis.n] : [lo, hi];
  };
  const [x0, x1] = fileRange(wx, sx) as [number, number];
  const [y0, y1] = fileRange(wy, sy) as [number, number];
  const width = x1 - x0;
  const toAxisWeights = (weights: { k: number[]; w: number[] }[], axis: SourceAxis, start: number): AxisWeights => ({
    index: weights.map((w) => Int32Array.from(w.k, (k) => axis.fileIndex(k) - start)),
    weight: weights.map((w) => Float64Array.from(w.w)),
  });
  const ax = toAxisWeights(wx, sx, x0);
  const ay = toAxisWeights(wy, sy, y0);
  const cx = centreX ? Int32Array.from(centreX, (k) => sx.fileIndex(k) - x0) : undefined;
  const cy = centreY ? Int32Array.from(centreY, (k) => sy.fileIndex(k) - y0) : undefined;
  const size = window.nrows * window.ncols;
  const minCoverage = method === "average" ? (options.minCoverage ?? 0) : 0;

  return {
    method,
    y0,
    y1,
    x0,
    x1,
    size,
    apply(data: Float32Array): Float32Array {
      if (data.length !== (y1 - y0) * width) throw new Error(`regrid: ${data.length} values for a ${y1 - y0} x ${width} window`);
      const out = new Float32Array(size);
      for (let i = 0; i < window.nrows; i++) {
        const ri = ay.index[i]!;
        const rw = ay.weight[i]!;
        for (let j = 0; j < window.ncols; j++) {
          if (!insideX[j] || !insideY[i] || (cx && cy && Number.isNaN(data[cy[i]! * width + cx[j]!]!))) {
            out[i * window.ncols + j] = NaN;
            continue;
          }
          const ci = ax.index[j]!;
          const cw = ax.weight[j]!;
          let sum = 0;
          let wsum = 0;
          let wall = 0;
          for (let a = 0; a < ri.length; a++) {
            const rowOffset = ri[a]! * width;
            const wa = rw[a]!;
            for (let b = 0; b < ci.length; b++) {
              const v = data[rowOffset + ci[b]!]!;
              const w = wa * cw[b]!;
              wall += w;
              if (v === v) {
                sum += w * v;
                wsum += w;
              }
            }
          }
          out[i * window.ncols + j] = wsum > 0 && wsum >= minCoverage * wall ? sum / wsum : NaN;
        }
      }
      return out;
    },
    applyFractions(data: Float32Array, classes: number[]): Float32Array[] {
      const outs = classes.map(() => new Float32Array(size));
      const position = new Map(classes.map((c, k) => [c, k]));
      for (let i = 0; i < window.nrows; i++) {
        const ri = ay.index[i]!;
        const rw = ay.weight[i]!;
        for (let j = 0; j < window.ncols; j++) {
          if (!insideX[j] || !insideY[i]) {
            for (const o of outs) o[i * window.ncols + j] = NaN;
            continue;
          }
          const ci = ax.index[j]!;
          const cw = ax.weight[j]!;
          const acc = new Float64Array(classes.length);
          let wsum = 0;
          for (let a = 0; a < ri.length; a++) {
            for (let b = 0; b < ci.length; b++) {
              const v = data[ri[a]! * width + ci[b]!]!;
              if (v !== v) continue;
              const w = rw[a]! * cw[b]!;
              wsum += w;
              const k = position.get(v);
              if (k !== undefined) acc[k]! += w;
            }
          }
          for (let k = 0; k < classes.length; k++) outs[k]![i * window.ncols + j] = wsum > 0 ? acc[k]! / wsum : NaN;
        }
      }
      return outs;
    },
  };
}

function checkCoverage(tx: TargetAxis, ty: TargetAxis, sx: SourceAxis, sy: SourceAxis, options: PlanOptions, geographic: boolean): void {
  const unit = geographic ? " deg" : " m";
  const fmt = (a: number, b: number) => `${+a.toFixed(4)}..${+b.toFixed(4)}${unit}`;
  const yLo = Math.min(...ty.centre);
  const yHi = Math.max(...ty.centre);
  const coveredY = yLo >= sy.edges[0]! && yHi <= sy.edges[sy.n]!;
  const xLo = Math.min(...tx.centre);
  const xHi = Math.max(...tx.centre);
  const coveredX = sx.period > 0 || (xLo >= sx.edges[0]! && xHi <= sx.edges[sx.n]!);
  const overlaps = yHi >= sy.edges[0]! && yLo <= sy.edges[sy.n]! && (sx.period > 0 || (xHi >= sx.edges[0]! && xLo <= sx.edges[sx.n]!));
  if ((!coveredX || !coveredY) && !(options.partial && overlaps)) {
    throw new SmapfillError(
      `the grid (${geographic ? "lat" : "y"} ${fmt(sy.edges[0]!, sy.edges[sy.n]!)}, ${geographic ? "lon" : "x"} ${fmt(sx.edges[0]!, sx.edges[sx.n]!)}) does not cover the region (cell centres ${geographic ? "lat" : "y"} ${fmt(yLo, yHi)}, ${geographic ? "lon" : "x"} ${fmt(xLo, xHi)})`,
      {
        ...options,
        hint: overlaps
          ? "Use files that cover the whole region, shrink the region, or set partial_coverage: true to accept it (cells outside get no value; the covered share is reported)"
          : "The files do not overlap the region at all: check the files and the region",
      },
    );
  }
}
