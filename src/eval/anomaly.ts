/**
 * Short-term anomalies of a daily series, as pytesmo's `calc_anomaly(series, window_size=35)`:
 *   anomaly(t) = x(t) - mean{ x(s) : |s - t| <= 17 days, x(s) present }
 * a centred 35-day moving average of the values present (pytesmo's moving_average, min_obs 1),
 * so that the seasonal cycle and slow drifts are removed and what is left is the day-to-day
 * wetting and drying a gap filler must reproduce. Missing values (NaN) stay missing.
 *
 * The anomaly correlation of a product against in situ is the Pearson R of the two series'
 * anomalies, each computed from its own series: a filler that only follows the season scores a
 * high R and an anomaly R near zero.
 */

export const ANOMALY_WINDOW_DAYS = 35;

/** x minus its centred moving average over `windowDays` days (odd; values present only); NaN where x is missing. */
export function movingAverageAnomaly(x: ArrayLike<number>, windowDays = ANOMALY_WINDOW_DAYS): Float64Array {
  const half = Math.floor(windowDays / 2);
  const n = x.length;
  // Prefix sums of the values present and of their count: each window's mean in O(1).
  const sum = new Float64Array(n + 1);
  const count = new Float64Array(n + 1);
  for (let t = 0; t < n; t++) {
    const v = x[t]!;
    const present = Number.isFinite(v);
    sum[t + 1] = sum[t]! + (present ? v : 0);
    count[t + 1] = count[t]! + (present ? 1 : 0);
  }
  const out = new Float64Array(n).fill(NaN);
  for (let t = 0; t < n; t++) {
    const v = x[t]!;
    if (!Number.isFinite(v)) continue;
    const a = Math.max(0, t - half);
    const b = Math.min(n, t + half + 1);
    out[t] = v - (sum[b]! - sum[a]!) / (count[b]! - count[a]!);
  }
  return out;
}
