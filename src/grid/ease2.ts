/**
 * EASE-Grid 2.0 global grids (EPSG:6933): WGS84 Lambert cylindrical equal-area with standard
 * parallel 30 deg and central meridian 0, as defined by NSIDC (Brodzik et al. 2012) and used by
 * SMAP. The projection is cylindrical, so a row has one latitude and a column one longitude:
 * a lat/lon bounding box is always a rectangular row/col window.
 *
 * Forward (Snyder 1987, eq. 3-12 with the authalic q):
 *   x = a k0 lambda,  y = a q(phi) / (2 k0),  k0 = cos(phi1) / sqrt(1 - e^2 sin^2 phi1)
 *   q(phi) = (1 - e^2) [ sin phi / (1 - e^2 sin^2 phi) - ln((1 - e sin phi)/(1 + e sin phi)) / (2e) ]
 * Inverse: the authalic-latitude series (Snyder eq. 3-18) refined by Newton steps on q.
 */
import { SmapfillError } from "../util/errors.js";

export const WGS84_SEMI_MAJOR_M = 6378137.0;
export const WGS84_INVERSE_FLATTENING = 298.257223563;
export const STANDARD_PARALLEL_DEG = 30.0;

const FLATTENING = 1 / WGS84_INVERSE_FLATTENING;
const E2 = FLATTENING * (2 - FLATTENING);
const E = Math.sqrt(E2);
const PHI1 = (STANDARD_PARALLEL_DEG * Math.PI) / 180;
const K0 = Math.cos(PHI1) / Math.sqrt(1 - E2 * Math.sin(PHI1) ** 2);
const DEG = 180 / Math.PI;
const RAD = Math.PI / 180;

function authalicQ(phi: number): number {
  const s = Math.sin(phi);
  return (1 - E2) * (s / (1 - E2 * s * s) - (1 / (2 * E)) * Math.log((1 - E * s) / (1 + E * s)));
}
const Q_POLE = authalicQ(Math.PI / 2);

/** Cell size of the 36 km grid in metres (NSIDC); the finer grids divide it exactly. */
export const CELL_36KM_M = 36032.220840584;
/** The 36 km grid is 964 x 406; all grids share its outer edges. */
const COLS_36KM = 964;
const ROWS_36KM = 406;
/** Upper-left corner of every global EASE-2 grid (metres). */
export const MAP_ORIGIN_X_M = -(COLS_36KM * CELL_36KM_M) / 2; // -17367530.4451615
export const MAP_ORIGIN_Y_M = (ROWS_36KM * CELL_36KM_M) / 2; //   7314540.8306386

/** lat/lon (degrees) -> EASE-2 global x/y (metres). */
export function latLonToXY(latDeg: number, lonDeg: number): [number, number] {
  return [WGS84_SEMI_MAJOR_M * K0 * lonDeg * RAD, (WGS84_SEMI_MAJOR_M * authalicQ(latDeg * RAD)) / (2 * K0)];
}

/** EASE-2 global x/y (metres) -> lat/lon (degrees). */
export function xyToLatLon(x: number, y: number): [number, number] {
  return [yToLatitude(y), (x / (WGS84_SEMI_MAJOR_M * K0)) * DEG];
}

export function yToLatitude(y: number): number {
  const q = (2 * y * K0) / WGS84_SEMI_MAJOR_M;
  const beta = Math.asin(Math.max(-1, Math.min(1, q / Q_POLE)));
  const e4 = E2 * E2;
  const e6 = e4 * E2;
  let phi =
    beta +
    (E2 / 3 + (31 * e4) / 180 + (517 * e6) / 5040) * Math.sin(2 * beta) +
    ((23 * e4) / 360 + (251 * e6) / 3780) * Math.sin(4 * beta) +
    ((761 * e6) / 45360) * Math.sin(6 * beta);
  // Newton on q(phi) = q; the series is already good to ~1e-9 rad, two steps reach float64.
  for (let i = 0; i < 3; i++) {
    const s = Math.sin(phi);
    const c = Math.cos(phi);
    if (Math.abs(c) < 1e-12) break;
    const oneMinus = 1 - E2 * s * s;
    const step = ((oneMinus * oneMinus) / (2 * c)) * (q / (1 - E2) - s / oneMinus + (1 / (2 * E)) * Math.log((1 - E * s) / (1 + E * s)));
    if (!Number.isFinite(step)) break;
    phi += step;
  }
  return phi * DEG;
}

export function latitudeToY(latDeg: number): number {
  return (WGS84_SEMI_MAJOR_M * authalicQ(latDeg * RAD)) / (2 * K0);
}

export function longitudeToX(lonDeg: number): number {
  return WGS84_SEMI_MAJOR_M * K0 * lonDeg * RAD;
}

export type Resolution = "1km" | "3km" | "9km" | "36km";
export const RESOLUTIONS: readonly Resolution[] = ["1km", "3km", "9km", "36km"];

/** How many cells of each grid fit along one 36 km cell. */
const SUBDIVISION: Record<Resolution, number> = { "36km": 1, "9km": 4, "3km": 12, "1km": 36 };

/** A rectangular block of cells of one grid: rows row0 .. row0+nrows-1, cols col0 .. col0+ncols-1. */
export interface Window {
  row0: number;
  col0: number;
  nrows: number;
  ncols: number;
}

/** A lat/lon box in degrees (west < east; boxes across the antimeridian are not supported). */
export interface BBox {
  south: number;
  north: number;
  west: number;
  east: number;
}

export interface CellBounds {
  xmin: number;
  xmax: number;
  ymin: number;
  ymax: number;
  south: number;
  north: number;
  west: number;
  east: number;
}

/** One global EASE-Grid 2.0 grid (EASE2_M01km, M03km, M09km, M36km). */
export class Ease2Grid {
  readonly resolution: Resolution;
  /** Cell size in metres. */
  readonly cellSize: number;
  readonly nrows: number;
  readonly ncols: number;
  /** The EPSG code of the projection. */
  readonly epsg = 6933;

  private constructor(resolution: Resolution) {
    const n = SUBDIVISION[resolution];
    this.resolution = resolution;
    this.cellSize = CELL_36KM_M / n;
    this.nrows = ROWS_36KM * n;
    this.ncols = COLS_36KM * n;
  }

  private static readonly cache = new Map<Resolution, Ease2Grid>();

  static of(resolution: Resolution): Ease2Grid {
    if (!SUBDIVISION[resolution]) {
      throw new SmapfillError(`unknown EASE-Grid 2.0 resolution '${resolution}'`, {
        hint: `Use one of ${RESOLUTIONS.join(", ")}`,
      });
    }
    let grid = Ease2Grid.cache.get(resolution);
    if (!grid) {
      grid = new Ease2Grid(resolution);
      Ease2Grid.cache.set(resolution, grid);
    }
    return grid;
  }

  /** The grid whose global array has this shape, or undefined. */
  static fromShape(nrows: number, ncols: number): Ease2Grid | undefined {
    for (const res of RESOLUTIONS) {
      const g = Ease2Grid.of(res);
      if (g.nrows === nrows && g.ncols === ncols) return g;
    }
    return undefined;
  }

  /** NSIDC's grid name, e.g. EASE2_M09km. */
  get name(): string {
    return `EASE2_M${this.resolution.replace("km", "").padStart(2, "0")}km`;
  }

  /** x of the centre of column col (fractional columns allowed). */
  colToX(col: number): number {
    return MAP_ORIGIN_X_M + (col + 0.5) * this.cellSize;
  }

  rowToY(row: number): number {
    return MAP_ORIGIN_Y_M - (row + 0.5) * this.cellSize;
  }

  /** Column containing x (may be outside 0..ncols-1). */
  xToCol(x: number): number {
    return Math.floor((x - MAP_ORIGIN_X_M) / this.cellSize);
  }

  yToRow(y: number): number {
    return Math.floor((MAP_ORIGIN_Y_M - y) / this.cellSize);
  }

  /** Latitude of the centres of row `row` (all cells of a row share it). */
  rowLatitude(row: number): number {
    return yToLatitude(this.rowToY(row));
  }

  colLongitude(col: number): number {
    return (this.colToX(col) / (WGS84_SEMI_MAJOR_M * K0)) * DEG;
  }

  rowColToLatLon(row: number, col: number): [number, number] {
    return [this.rowLatitude(row), this.colLongitude(col)];
  }

  /** The cell containing lat/lon, or undefined outside the grid (beyond about +-85 deg). */
  latLonToRowCol(latDeg: number, lonDeg: number): [number, number] | undefined {
    if (!Number.isFinite(latDeg) || !Number.isFinite(lonDeg)) return undefined;
    const [x, y] = latLonToXY(latDeg, lonDeg);
    const row = this.yToRow(y);
    const col = this.xToCol(x);
    if (row < 0 || row >= this.nrows || col < 0 || col >= this.ncols) return undefined;
    return [row, col];
  }

  cellBounds(row: number, col: number): CellBounds {
    const xmin = MAP_ORIGIN_X_M + col * this.cellSize;
    const ymax = MAP_ORIGIN_Y_M - row * this.cellSize;
    const xmax = xmin + this.cellSize;
    const ymin = ymax - this.cellSize;
    const [north, west] = xyToLatLon(xmin, ymax);
    const [south, east] = xyToLatLon(xmax, ymin);
    return { xmin, xmax, ymin, ymax, south, north, west, east };
  }

  /** Latitudes of the row centres of a window, north to south. */
  windowLatitudes(window: Window): Float64Array {
    const out = new Float64Array(window.nrows);
    for (let i = 0; i < window.nrows; i++) out[i] = this.rowLatitude(window.row0 + i);
    return out;
  }

  windowLongitudes(window: Window): Float64Array {
    const out = new Float64Array(window.ncols);
    for (let j = 0; j < window.ncols; j++) out[j] = this.colLongitude(window.col0 + j);
    return out;
  }

  /**
   * The window of all cells whose centre lies inside the box (edges inclusive). This is how
   * SMAP point lists and most regional subsets are cut, and it keeps a box of whole cells from
   * growing by a partly covered ring. Throws when no cell centre falls inside.
   */
  windowFromBBox(bbox: BBox): Window {
    validateBBox(bbox);
    const [xWest, yNorth] = latLonToXY(bbox.north, bbox.west);
    const [xEast, ySouth] = latLonToXY(bbox.south, bbox.east);
    const colFirst = Math.max(0, Math.ceil((xWest - MAP_ORIGIN_X_M) / this.cellSize - 0.5 - 1e-9));
    const colLast = Math.min(this.ncols - 1, Math.floor((xEast - MAP_ORIGIN_X_M) / this.cellSize - 0.5 + 1e-9));
    const rowFirst = Math.max(0, Math.ceil((MAP_ORIGIN_Y_M - yNorth) / this.cellSize - 0.5 - 1e-9));
    const rowLast = Math.min(this.nrows - 1, Math.floor((MAP_ORIGIN_Y_M - ySouth) / this.cellSize - 0.5 + 1e-9));
    if (colLast < colFirst || rowLast < rowFirst) {
      throw new SmapfillError(`the box ${formatBBox(bbox)} contains no ${this.name} cell centre`, {
        hint: "Enlarge the box to at least one cell (about " + (this.cellSize / 1000).toFixed(0) + " km)",
      });
    }
    return { row0: rowFirst, col0: colFirst, nrows: rowLast - rowFirst + 1, ncols: colLast - colFirst + 1 };
  }

  /** The lat/lon box spanned by the outer edges of a window. */
  windowBBox(window: Window): BBox {
    const nw = this.cellBounds(window.row0, window.col0);
    const se = this.cellBounds(window.row0 + window.nrows - 1, window.col0 + window.ncols - 1);
    return { north: nw.north, west: nw.west, south: se.south, east: se.east };
  }

  /** Throws unless the window lies inside the grid. */
  checkWindow(window: Window, context = "window"): void {
    const { row0, col0, nrows, ncols } = window;
    const ints = [row0, col0, nrows, ncols].every(Number.isInteger);
    if (!ints || nrows < 1 || ncols < 1 || row0 < 0 || col0 < 0 || row0 + nrows > this.nrows || col0 + ncols > this.ncols) {
      throw new SmapfillError(
        `${context} rows ${row0}..${row0 + nrows - 1}, cols ${col0}..${col0 + ncols - 1} is not inside the ${this.name} grid (${this.nrows} x ${this.ncols})`,
        { hint: "Give whole, positive row/col numbers inside the grid, or a lat/lon bbox" },
      );
    }
  }

  /**
   * How many cells of `finer` fit along one cell of this grid (e.g. 36 km -> 9 km: 4).
   * Throws when `finer` does not nest inside this grid.
   */
  nestingFactor(finer: Ease2Grid): number {
    const ratio = SUBDIVISION[finer.resolution] / SUBDIVISION[this.resolution];
    if (!Number.isInteger(ratio) || ratio < 1) {
      throw new SmapfillError(`${finer.name} does not nest inside ${this.name}`, {
        hint: "Nesting goes from a coarser to an equal or finer grid (36 > 9 > 3 > 1 km)",
      });
    }
    return ratio;
  }

  /** The window of `finer` covering exactly the cells of `window` of this grid. */
  nestedWindow(window: Window, finer: Ease2Grid): Window {
    const k = this.nestingFactor(finer);
    return { row0: window.row0 * k, col0: window.col0 * k, nrows: window.nrows * k, ncols: window.ncols * k };
  }

  /** The cell of the coarser grid that contains cell (row, col) of this grid. */
  parentCell(row: number, col: number, coarser: Ease2Grid): [number, number] {
    const k = coarser.nestingFactor(this);
    return [Math.floor(row / k), Math.floor(col / k)];
  }

  /** The smallest window of the coarser grid containing every cell of `window` of this grid. */
  coveringWindow(window: Window, coarser: Ease2Grid): Window {
    const k = coarser.nestingFactor(this);
    const row0 = Math.floor(window.row0 / k);
    const col0 = Math.floor(window.col0 / k);
    const rowEnd = Math.ceil((window.row0 + window.nrows) / k);
    const colEnd = Math.ceil((window.col0 + window.ncols) / k);
    return { row0, col0, nrows: rowEnd - row0, ncols: colEnd - col0 };
  }
}

export function validateBBox(bbox: BBox): void {
  const { south, north, west, east } = bbox;
  const finite = [south, north, west, east].every(Number.isFinite);
  if (!finite || south < -90 || north > 90 || south >= north) {
    throw new SmapfillError(`invalid latitude range in the box ${formatBBox(bbox)}`, {
      hint: "Give south < north, both within -90..90 degrees",
    });
  }
  if (west < -180 || east > 180 || west >= east) {
    throw new SmapfillError(`invalid longitude range in the box ${formatBBox(bbox)}`, {
      hint: "Give west < east within -180..180 degrees; split boxes that cross the antimeridian in two",
    });
  }
}

export function formatBBox(b: BBox): string {
  return `[S ${b.south}, N ${b.north}, W ${b.west}, E ${b.east}]`;
}

export function windowSize(window: Window): number {
  return window.nrows * window.ncols;
}

/** CF grid-mapping attributes for EPSG:6933, as GDAL, xarray/rioxarray and QGIS expect them. */
export function cfGridMapping(): Record<string, string | number> {
  return {
    grid_mapping_name: "lambert_cylindrical_equal_area",
    standard_parallel: STANDARD_PARALLEL_DEG,
    longitude_of_central_meridian: 0,
    false_easting: 0,
    false_northing: 0,
    semi_major_axis: WGS84_SEMI_MAJOR_M,
    inverse_flattening: WGS84_INVERSE_FLATTENING,
    horizontal_datum_name: "WGS84",
    epsg_code: "EPSG:6933",
    crs_wkt: EPSG_6933_WKT,
    spatial_ref: EPSG_6933_WKT,
  };
}

export const EPSG_6933_WKT =
  'PROJCS["WGS 84 / NSIDC EASE-Grid 2.0 Global",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Cylindrical_Equal_Area"],PARAMETER["standard_parallel_1",30],PARAMETER["central_meridian",0],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","6933"]]';
