/**
 * Why SMAP is missing on each cube (`soil_moisture_missing_reason`): the share of gaps per
 * reason, and on the demo world how its truth's frozen or snow-covered days were flagged. The
 * cubes are made beforehand: the demo's (smapfill demo --out DIR, its world/ beside the cube) and
 * the examples' (smapfill ingest examples/*.yaml).
 */
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../src/cube/cube.js";
import { gapReason, missingReasonShares, readMissingReasons } from "../src/cube/missing-reasons.js";

export interface MissingReasonsBenchOptions {
  cubes: { label: string; path: string; demoWorld?: string }[];
}

/** On the demo world: each reason against the truth's frozen flag (pixel-days). */
async function againstTruth(cube: Cube, world: string): Promise<Record<string, { frozen: number; not_frozen: number }>> {
  const truth = await Cube.open(path.join(world, "truth.zarr"));
  const codes = (await readMissingReasons(cube))!;
  const frozen = await truth.readBlock("frozen", 0, truth.days);
  const out: Record<string, { frozen: number; not_frozen: number }> = {};
  for (let k = 0; k < codes.length; k++) {
    const reason = gapReason(codes[k]!) ?? "observed";
    out[reason] ??= { frozen: 0, not_frozen: 0 };
    out[reason][frozen[k] ? "frozen" : "not_frozen"]++;
  }
  return out;
}

export async function benchMissingReasons(o: MissingReasonsBenchOptions): Promise<Record<string, unknown>> {
  const cubes: Record<string, unknown> = {};
  for (const c of o.cubes) {
    if (!fs.existsSync(c.path)) {
      cubes[c.label] = { skipped: `no cube at ${c.path}` };
      continue;
    }
    const cube = await Cube.open(c.path);
    cubes[c.label] = {
      cube: c.path,
      quality: cube.variable("soil_moisture").attributes?.quality,
      ...(await missingReasonShares(cube)),
      ...(c.demoWorld ? { against_truth: await againstTruth(cube, c.demoWorld) } : {}),
    };
  }
  return { what: "share of SMAP's gaps per reason (soil_moisture_missing_reason), over the cells SMAP retrieved at least once", cubes };
}
