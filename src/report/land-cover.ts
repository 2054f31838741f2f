/**
 * Names of land-cover classes for tables: the IGBP legend of MODIS MCD12Q1 (LC_Type1), the codes
 * the synthetic world writes and the most common land-cover input. The code stays in the name,
 * since a study may use another legend with the same numbers.
 */
const IGBP: Record<number, string> = {
  1: "evergreen needleleaf forests",
  2: "evergreen broadleaf forests",
  3: "deciduous needleleaf forests",
  4: "deciduous broadleaf forests",
  5: "mixed forests",
  6: "closed shrublands",
  7: "open shrublands",
  8: "woody savannas",
  9: "savannas",
  10: "grasslands",
  11: "permanent wetlands",
  12: "croplands",
  13: "urban and built-up lands",
  14: "cropland/natural vegetation mosaics",
  15: "permanent snow and ice",
  16: "barren",
  17: "water bodies",
};

/** "class10" -> "class 10 (IGBP: grasslands)"; other names as they are. */
export function landCoverName(name: string): string {
  const m = /^class(\d+)$/.exec(name);
  if (!m) return name;
  const code = Number(m[1]);
  return IGBP[code] ? `class ${code} (IGBP: ${IGBP[code]})` : `class ${code}`;
}
