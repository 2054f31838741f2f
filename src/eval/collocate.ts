/**
 * In-situ stations onto the cube: each station goes to the EASE-2 cell that contains it (a
 * station is a point; the cell is 9 km: the difference is the representativeness error the
 * validation measures), and its series becomes cube days:
 *  - daily: the mean of the day's valid values (UTC day, as the cube), missing when fewer than
 *    `minDailyShare` of the day's expected records are valid (a mean of two hours is not a
 *    daily mean);
 *  - am / pm: the valid value nearest to 6:00 / 18:00 local solar time (UTC + lon/15 h), within
 *    `maxOverpassGapHours`, to compare with the instantaneous retrieval of each pass.
 */
import type { Ease2Grid, Window } from "../grid/ease2.js";
import type { IsmnSeries } from "../io/ismn.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface CollocatedStation {
  network: string;
  station: string;
  lat: number;
  lon: number;
  depthFrom: number;
  depthTo: number;
  /** Cube-local pixel index (row * ncols + col). */
  pixel: number;
  daily: Float32Array;
  am: Float32Array;
  pm: Float32Array;
}

export interface CollocationOptions {
  minDailyShare?: number;
  maxOverpassGapHours?: number;
}

export interface CollocationResult {
  stations: CollocatedStation[];
  /** Stations outside the cube's window (or the grid). */
  outside: { network: string; station: string; lat: number; lon: number }[];
}

function medianStep(times: Float64Array): number {
  const steps: number[] = [];
  for (let i = 1; i < times.length; i++) if (times[i]! > times[i - 1]!) steps.push(times[i]! - times[i - 1]!);
  steps.sort((a, b) => a - b);
  return steps.length ? steps[Math.floor(steps.length / 2)]! : HOUR_MS;
}

export function collocate(
  series: IsmnSeries[],
  grid: Ease2Grid,
  window: Window,
  startDay: number,
  days: number,
  o: CollocationOptions = {},
): CollocationResult {
  const minShare = o.minDailyShare ?? 0.5;
  const maxGap = (o.maxOverpassGapHours ?? 1) * HOUR_MS;
  const result: CollocationResult = { stations: [], outside: [] };
  for (const s of series) {
    const rc = grid.latLonToRowCol(s.lat, s.lon);
    const r = rc ? rc[0] - window.row0 : -1;
    const c = rc ? rc[1] - window.col0 : -1;
    if (!rc || r < 0 || c < 0 || r >= window.nrows || c >= window.ncols) {
      result.outside.push({ network: s.network, station: s.station, lat: s.lat, lon: s.lon });
      continue;
    }
    const perDay = Math.max(1, Math.round(DAY_MS / medianStep(s.times)));
    const sum = new Float64Array(days);
    const count = new Int32Array(days);
    const am = new Float32Array(days).fill(NaN);
    const pm = new Float32Array(days).fill(NaN);
    const amGap = new Float64Array(days).fill(Infinity);
    const pmGap = new Float64Array(days).fill(Infinity);
    const offset = (s.lon / 15) * HOUR_MS; // local solar time = UTC + offset
    for (let i = 0; i < s.times.length; i++) {
      const v = s.values[i]!;
      if (Number.isNaN(v)) continue;
      const time = s.times[i]!;
      const t = Math.floor(time / DAY_MS) - startDay;
      if (t >= 0 && t < days) {
        sum[t]! += v;
        count[t]!++;
      }
      // The overpasses of local day L happen at L + 6 h / 18 h local = that minus offset in UTC;
      // they belong to the cube day of their UTC date.
      const local = time + offset;
      const localDay = Math.floor(local / DAY_MS);
      for (const [hour, out, gaps] of [
        [6, am, amGap],
        [18, pm, pmGap],
      ] as const) {
        for (const L of [localDay - 1, localDay, localDay + 1]) {
          const overpassUtc = L * DAY_MS + hour * HOUR_MS - offset;
          const cubeDay = Math.floor(overpassUtc / DAY_MS) - startDay;
          if (cubeDay < 0 || cubeDay >= days) continue;
          const gap = Math.abs(time - overpassUtc);
          if (gap <= maxGap && gap < gaps[cubeDay]!) {
            gaps[cubeDay] = gap;
            out[cubeDay] = v;
          }
        }
      }
    }
    const daily = Float32Array.from(sum, (v, t) => (count[t]! >= minShare * perDay ? v / count[t]! : NaN));
    result.stations.push({
      network: s.network,
      station: s.station,
      lat: s.lat,
      lon: s.lon,
      depthFrom: s.depthFrom,
      depthTo: s.depthTo,
      pixel: r * window.ncols + c,
      daily,
      am,
      pm,
    });
  }
  return result;
}
