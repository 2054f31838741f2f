/**
 * Georeferencing of a Zarr v3 store by the zarr-conventions `proj:` (v1: the CRS) and `spatial:`
 * (v1: dimensions, affine transform, bounding box, shape, registration) attributes, declared in
 * `zarr_conventions` with their schema and spec URLs, so tools that read these conventions
 * (rioxarray, GDAL's GeoZarr work) place the store without parsing CF.
 */
import type { Ease2Grid, Window } from "./ease2.js";

export const PROJ_CONVENTION = {
  schema_url: "https://raw.githubusercontent.com/zarr-experimental/geo-proj/refs/tags/v1/schema.json",
  spec_url: "https://github.com/zarr-experimental/geo-proj/blob/v1/README.md",
  uuid: "f17cb550-5864-4468-aeb7-f3180cfb622f",
  name: "proj:",
  description: "Coordinate reference system information for geospatial data",
};

export const SPATIAL_CONVENTION = {
  schema_url: "https://raw.githubusercontent.com/zarr-conventions/spatial/refs/tags/v1/schema.json",
  spec_url: "https://github.com/zarr-conventions/spatial/blob/v1/README.md",
  uuid: "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4",
  name: "spatial:",
  description: "Spatial coordinate information",
};

/** The window's affine transform [a, b, c, d, e, f] (x = a*col + c, y = e*row + f; corners of cells). */
export function windowTransform(grid: Ease2Grid, w: Window): number[] {
  const left = grid.colToX(w.col0) - grid.cellSize / 2;
  const top = grid.rowToY(w.row0) + grid.cellSize / 2;
  return [grid.cellSize, 0, left, 0, -grid.cellSize, top];
}

/** Group attributes placing a (y, x) window of the grid: proj: and spatial: conventions, v1. */
export function zarrGeoConventions(grid: Ease2Grid, w: Window): Record<string, unknown> {
  const [a, , left, , e, top] = windowTransform(grid, w);
  const right = left! + a! * w.ncols;
  const bottom = top! + e! * w.nrows;
  return {
    zarr_conventions: [PROJ_CONVENTION, SPATIAL_CONVENTION],
    "proj:code": "EPSG:6933",
    "spatial:dimensions": ["y", "x"],
    "spatial:transform_type": "affine",
    "spatial:transform": windowTransform(grid, w),
    "spatial:bbox": [left, bottom, right, top],
    "spatial:shape": [w.nrows, w.ncols],
    "spatial:registration": "pixel",
  };
}
