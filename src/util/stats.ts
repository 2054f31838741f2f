/** Small statistics shared by features, metrics and the synthetic world. */

/**
 * Linear-interpolation quantile of ascending values (Hyndman-Fan type 7, numpy's default):
 * h = (n - 1) q, Q = s[floor h] + (h - floor h) (s[floor h + 1] - s[floor h]).
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number, n = sorted.length): number {
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
