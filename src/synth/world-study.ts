/**
 * The study config of a written synthetic world: SMAP plus every predictor the world ships, one
 * of each kind a real study uses (hourly-to-daily means with a unit change, daily sums with
 * antecedent sums, clear-sky LST, 16-day NDVI composites carried forward, a DEM with slope and
 * aspect, texture, land cover fractions).
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { LAND_COVER_CLASSES, type WorldConfig } from "./world.js";
import { formatDay, parseDay } from "../util/dates.js";

export function worldStudy(world: WorldConfig, output: string) {
  const b = world.bbox;
  return {
    name: `synthetic-${world.seed}`,
    region: { bbox: [b.south, b.north, b.west, b.east] },
    period: { start: world.start, end: formatDay(parseDay(world.start) + world.days - 1) },
    resolution: world.resolution,
    output,
    smap: { granules: "smap/SMAP_L3_SM_P*.h5", quality: "recommended", pass_rule: "am-first" },
    predictors: [
      {
        name: "precipitation",
        files: "predictors/meteo/SYN_METEO_*.nc4",
        variable: "precipitation",
        kind: "dynamic",
        aggregation: "sum",
        resampling: "average",
        antecedent: [3, 7, 30],
      },
      {
        name: "air_temperature",
        files: "predictors/meteo/SYN_METEO_*.nc4",
        variable: "air_temperature",
        kind: "dynamic",
        aggregation: "mean",
        resampling: "bilinear",
        units: { to: "degC" },
      },
      { name: "lst", files: "predictors/lst/SYN_LST_*.nc4", variable: "lst_day", kind: "dynamic", aggregation: "mean", resampling: "average" },
      {
        name: "ndvi",
        files: "predictors/ndvi/SYN_NDVI_*.tif",
        variable: "ndvi",
        kind: "dynamic",
        aggregation: "latest",
        resampling: "average",
        date_from_name: true,
        max_age_days: 16,
      },
      { name: "elevation", files: "predictors/static/dem.tif", variable: "elevation", kind: "static", resampling: "average", derive: ["slope", "aspect"] },
      { name: "sand", files: "predictors/static/sand.tif", variable: "sand", kind: "static", resampling: "average" },
      { name: "clay", files: "predictors/static/clay.tif", variable: "clay", kind: "static", resampling: "average" },
      {
        name: "landcover",
        files: "predictors/static/landcover.tif",
        variable: "landcover",
        kind: "static",
        resampling: "fractions",
        classes: [LAND_COVER_CLASSES.forest, LAND_COVER_CLASSES.grassland, LAND_COVER_CLASSES.cropland, LAND_COVER_CLASSES.barren],
      },
    ],
  };
}

/** Writes study.yaml into the world's folder; returns its path. */
export function writeWorldStudy(worldDir: string, world: WorldConfig, output: string): string {
  const file = path.join(worldDir, "study.yaml");
  const text = `# Study of the synthetic world (made by smapfill, not real data).\n${YAML.stringify(worldStudy(world, output))}`;
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
  return file;
}
