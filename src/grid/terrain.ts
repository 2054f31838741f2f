/**
 * Slope and aspect from a DEM on its own (fine) grid, before it is averaged to the target cells:
 * the mean slope of a 9 km cell is what matters for runoff, and slope computed after averaging
 * the DEM to 9 km would flatten the terrain. Horn's (1981) 3x3 method, as gdaldem uses.
 * Grid spacing: for lat/lon DEMs, metres on the authalic sphere at each row's latitude.
 */
const EARTH_RADIUS_M = 6371007.2;

export interface TerrainLayers {
  /** Slope, degrees. */
  slope: Float32Array;
  /** sin and cos of the aspect (direction the slope faces, clockwise from north), for circular means. */
  aspectSin: Float32Array;
  aspectCos: Float32Array;
}

/**
 * dem: [rows][cols] (north row first when `ys` descend); xs/ys: cell centres (degrees for
 * geographic, metres otherwise). Edge cells reuse their nearest neighbours (clamped).
 */
export function terrain(dem: Float32Array, xs: Float64Array, ys: Float64Array, geographic: boolean): TerrainLayers {
  const nrows = ys.length;
  const ncols = xs.length;
  const slope = new Float32Array(nrows * ncols);
  const aspectSin = new Float32Array(nrows * ncols);
  const aspectCos = new Float32Array(nrows * ncols);
  const at = (r: number, c: number) => dem[Math.min(nrows - 1, Math.max(0, r)) * ncols + Math.min(ncols - 1, Math.max(0, c))]!;
  const dxDeg = ncols > 1 ? xs[1]! - xs[0]! : 1;
  const dyDeg = nrows > 1 ? ys[1]! - ys[0]! : -1;
  for (let r = 0; r < nrows; r++) {
    const lat = geographic ? ys[r]! : 0;
    const dx = geographic ? Math.abs(dxDeg) * (Math.PI / 180) * EARTH_RADIUS_M * Math.cos((lat * Math.PI) / 180) : Math.abs(dxDeg);
    const dy = geographic ? Math.abs(dyDeg) * (Math.PI / 180) * EARTH_RADIUS_M : Math.abs(dyDeg);
    // z(-1, .) must be the northern neighbour: row r-1 when y decreases with the row index
    // (north-up rasters), row r+1 when y increases.
    const north = dyDeg < 0 ? 1 : -1;
    const east = dxDeg > 0 ? 1 : -1;
    for (let c = 0; c < ncols; c++) {
      const k = r * ncols + c;
      if (Number.isNaN(dem[k]!)) {
        slope[k] = aspectSin[k] = aspectCos[k] = NaN;
        continue;
      }
      const z = (dr: number, dc: number) => {
        const v = at(r + dr * north, c + dc * east);
        return Number.isNaN(v) ? dem[k]! : v;
      };
      // dz/dx positive eastwards, dz/dy positive northwards (Horn's weights 1-2-1).
      const dzdx = (z(-1, 1) + 2 * z(0, 1) + z(1, 1) - (z(-1, -1) + 2 * z(0, -1) + z(1, -1))) / (8 * dx);
      const dzdy = (z(-1, -1) + 2 * z(-1, 0) + z(-1, 1) - (z(1, -1) + 2 * z(1, 0) + z(1, 1))) / (8 * dy);
      const g = Math.hypot(dzdx, dzdy);
      slope[k] = (Math.atan(g) * 180) / Math.PI;
      // The slope faces downhill: direction of -gradient; aspect clockwise from north.
      if (g === 0) {
        aspectSin[k] = 0;
        aspectCos[k] = 0;
      } else {
        aspectSin[k] = -dzdx / g;
        aspectCos[k] = -dzdy / g;
      }
    }
  }
  return { slope, aspectSin, aspectCos };
}

/** Aspect in degrees clockwise from north (0..360) from averaged sin/cos; NaN where flat. */
export function aspectDegrees(sin: number, cos: number): number {
  if (Math.hypot(sin, cos) < 1e-6) return NaN;
  const deg = (Math.atan2(sin, cos) * 180) / Math.PI;
  return deg < 0 ? deg + 360 : deg;
}
