import { test } from "node:test";
import assert from "node:assert/strict";
import { insituComparison } from "../../src/eval/insitu.js";
import { pointMetrics } from "../../src/eval/metrics.js";
import type { CollocatedStation } from "../../src/eval/collocate.js";

function station(name: string, pixel: number, daily: number[]): CollocatedStation {
  const d = Float32Array.from(daily);
  return { network: "N", station: name, lat: 0, lon: 0, depthFrom: 0, depthTo: 0.05, pixel, daily: d, am: d.map(() => NaN), pm: d.map(() => NaN) };
}

test("in situ: SMAP on observed days, the reconstruction split into observed and gap days, pooled and per station", () => {
  const P = 3;
  const T = 4;
  const nan = NaN;
  // day-major SMAP: pixel 0 observed on days 0 and 2, pixel 2 on day 1 only.
  const smap = Float32Array.from([0.2, nan, nan, nan, nan, 0.3, 0.25, nan, nan, nan, nan, nan]);
  const a = station("A", 0, [0.22, 0.21, 0.27, nan]);
  const b = station("B", 2, [0.33, 0.31, nan, 0.2]);
  const smapOf = (p: number) => Float32Array.from({ length: T }, (_, t) => smap[t * P + p]!);
  const recon = (p: number) => Float32Array.from({ length: T }, (_, t) => 0.1 * p + 0.01 * t + 0.2);
  const r = insituComparison([a, b], smapOf, T, recon, "daily", { nBoot: 0, minPairs: 1 });
  // SMAP pairs: A day 0 (0.2 vs 0.22), A day 2 (0.25 vs 0.27), B day 1 (0.3 vs 0.31).
  assert.equal(r.smap.pooled.n, 3);
  const smapExpected = pointMetrics([0.2, 0.25, 0.3], [0.22, 0.27, 0.31]);
  assert.ok(Math.abs(r.smap.pooled.rmse.value - smapExpected.rmse) < 1e-6);
  // Observed days: the same three station-days, with the reconstruction.
  assert.equal(r.observed!.pooled.n, 3);
  const obsExpected = pointMetrics([0.2, 0.22, 0.41], [0.22, 0.27, 0.31]);
  assert.ok(Math.abs(r.observed!.pooled.rmse.value - obsExpected.rmse) < 1e-6);
  // Gap days: A day 1; B days 0 and 3 (B day 2 has no in-situ value).
  assert.equal(r.gap!.pooled.n, 3);
  assert.deepEqual(
    r.gap!.perStation.map((s) => [s.station, s.n]),
    [
      ["A", 1],
      ["B", 2],
    ],
  );
  assert.equal(r.smap.stationMean.stations, 2);
  // Without a reconstruction only the SMAP scores are given.
  assert.equal(insituComparison([a, b], smapOf, T, undefined, "daily", { nBoot: 0 }).observed, undefined);
});
