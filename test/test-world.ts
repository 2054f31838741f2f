/** The synthetic test world over 40 days ingested into a cube of small chunks (8 x 8 cells, 16 days: 6 tiles, 3 blocks of days). */
import fs from "node:fs";
import path from "node:path";
import { ingestStudy } from "../src/cube/ingest-study.js";
import { loadStudy } from "../src/config/study.js";
import { writeWorld } from "../src/synth/write-world.js";
import { writeWorldStudy } from "../src/synth/world-study.js";
import { WORLD_PRESETS } from "../src/synth/world.js";

export async function smallChunkedCube(dir: string, o: { keepPasses?: boolean } = {}): Promise<{ cube: string; study: string }> {
  const config = { ...WORLD_PRESETS.test, days: 40 };
  await writeWorld(config, path.join(dir, "w"));
  const study = writeWorldStudy(path.join(dir, "w"), config, "../cube.zarr");
  fs.appendFileSync(study, "chunks: { time: 16, y: 8, x: 8 }\n");
  if (o.keepPasses) fs.writeFileSync(study, fs.readFileSync(study, "utf8").replace(/(pass_rule: am-first)/, "$1\n  keep_passes: true"));
  return { cube: (await ingestStudy(loadStudy(study), { quiet: true })).output, study };
}
