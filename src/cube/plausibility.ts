/**
 * The values a predictor can physically take, by its units and name, so that a wrong unit or
 * scale is caught at ingestion (warned and counted, not refused: the user may know better).
 * Only what is unambiguous is listed; other variables have no range. Values within a ten-thousandth
 * of the range's width beyond a bound are packing noise, not a wrong unit: ERA5's int16 packing
 * (value = offset + scale * n) gives -1e-20 for zero precipitation or soil water, which must not
 * raise "check the units".
 */
const SOIL_WATER = /^(m3 ?m-3|m3\/m3|m\*\*3 m\*\*-3|m\^3 m\^-3)$/i;

const PACKING_TOLERANCE = 1e-4;

/** True when `x` lies outside `range` by more than packing noise. */
export function outsidePlausible(x: number, range: [number, number]): boolean {
  const tol = PACKING_TOLERANCE * (range[1] - range[0]);
  return x < range[0] - tol || x > range[1] + tol;
}

export function plausibleRange(name: string, units: string): [number, number] | undefined {
  const u = units.trim();
  const n = name.toLowerCase();
  if (SOIL_WATER.test(u)) return [0, 1];
  if (u === "K") return [150, 350];
  if (/^(degC|deg_C|celsius|°C|C)$/i.test(u)) return [-100, 80];
  if (/precip|rain|^tp$|snowfall/.test(n) || /^mm( d-1|\/day| day-1)?$/.test(u)) return [0, 2000];
  if (/ndvi|evi/.test(n)) return [-1, 1];
  if (u === "1" && /frac|class|lsm|mask|sand|clay|silt|albedo/.test(n)) return [0, 1];
  return undefined;
}
