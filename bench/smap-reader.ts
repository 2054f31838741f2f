/**
 * SMAP L3 reader throughput: a 9 km regional window read from a year of synthetic global-size
 * SPL3SMP_E granules (1624 x 3856, gzip-chunked as NASA ships them), by smapfill (h5wasm) and by
 * h5py (Debian's HDF5 C library) on the same files in the same run.
 *
 * Work per granule, both sides: AM and PM soil_moisture and retrieval_qual_flag on the window,
 * then fill / valid-range / recommended-quality screening. Both report the number and sum of
 * valid values, which must agree.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readSmapL3, listGranules, GranuleReaderPool } from "../src/io/smap-l3.js";
import { defaultThreads } from "../src/util/worker-pool.js";
import { writeSmapL3Granule } from "../src/io/smap-l3-writer.js";
import { SyntheticWorld, WORLD_PRESETS } from "../src/synth/world.js";
import { Progress } from "../src/util/progress.js";
import { median } from "./common.js";

export interface ReaderBenchOptions {
  workDir: string;
  days: number;
  repeats: number;
}

/** North China Plain and surroundings: a 200 x 300 cell window (1 800 x 2 700 km). */
const REGION = { south: 30.0, north: 44.0, west: 105.0, east: 133.0 };

export async function benchSmapReader(options: ReaderBenchOptions) {
  const config = { ...WORLD_PRESETS.demo, bbox: REGION, days: options.days, stations: 0, seed: 7 };
  const world = new SyntheticWorld(config);
  const window = world.window;
  const dir = path.join(options.workDir, `granules-${window.nrows}x${window.ncols}-${config.days}d-s${config.seed}`);
  if (!fs.existsSync(path.join(dir, "complete"))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const progress = new Progress("bench: write synthetic global granules", config.days);
    for (const day of world.simulate()) {
      writeSmapL3Granule(dir, { grid: world.grid, date: day.date, window, AM: day.smap.AM, PM: day.smap.PM });
      progress.tick();
    }
    progress.finish();
    fs.writeFileSync(path.join(dir, "complete"), "");
  }
  const files = listGranules(dir);
  const fileBytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  const cells = window.nrows * window.ncols;

  // smapfill at 1 thread and at all cores: a warm-up pass (page cache, wasm JIT), then timed repeats.
  const measure = async (threads: number) => {
    const seconds: number[] = [];
    let valid = 0;
    let sum = 0;
    const pool = new GranuleReaderPool(threads);
    for (let rep = 0; rep <= options.repeats; rep++) {
      valid = 0;
      sum = 0;
      const t0 = process.hrtime.bigint();
      for await (const r of pool.read(files, { window })) {
        if (!r.ok) throw new Error(r.failure.error);
        for (const p of r.granule.passes) {
          for (const v of p.values) {
            if (!Number.isNaN(v)) {
              valid++;
              sum += v;
            }
          }
        }
      }
      if (rep > 0) seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    await pool.close();
    return { seconds, valid, sum };
  };
  const single = await measure(1);
  const threads = defaultThreads();
  const multi = await measure(threads);
  const { valid, sum } = single;
  if (multi.valid !== valid || multi.sum !== sum) throw new Error("the threaded reader disagrees with the single-threaded one");

  // A few whole-globe reads, to show what reading only the window saves.
  const globalSample = files.slice(0, Math.min(5, files.length));
  const tg = process.hrtime.bigint();
  for (const file of globalSample) readSmapL3(file);
  const globalSecondsPerGranule = Number(process.hrtime.bigint() - tg) / 1e9 / globalSample.length;

  // h5py on the same files.
  const python = "/usr/bin/python3";
  let h5py: { seconds: number[]; valid: number; sum: number; h5py: string; hdf5: string; numpy: string } | { error: string };
  const probe = spawnSync(python, ["-c", "import h5py, numpy"], { encoding: "utf8" });
  if (probe.status !== 0) {
    h5py = { error: "Debian python3-h5py is not installed (apt-get install python3-h5py)" };
  } else {
    const list = path.join(os.tmpdir(), `smapfill-bench-files-${process.pid}.txt`);
    fs.writeFileSync(list, files.join("\n"));
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "..", "bench", "python", "read_window_h5py.py");
    const run = spawnSync(
      python,
      [script, list, String(window.row0), String(window.col0), String(window.nrows), String(window.ncols), String(options.repeats + 1)],
      { encoding: "utf8" },
    );
    fs.rmSync(list, { force: true });
    if (run.status !== 0) h5py = { error: run.stderr };
    else {
      const parsed = JSON.parse(run.stdout);
      parsed.seconds = parsed.seconds.slice(1); // drop the warm-up repeat, as on our side
      h5py = parsed;
    }
  }

  const pixels = files.length * 2 * cells; // AM + PM windows
  const windowBytes = pixels * (4 + 2); // float32 soil moisture + uint16 flag
  const describe = (seconds: number) => ({
    seconds,
    granules_per_s: files.length / seconds,
    pixels_per_s: pixels / seconds,
    window_MB_per_s: windowBytes / 1e6 / seconds,
  });
  const ours = { ...describe(median(single.seconds)), all_seconds: single.seconds, valid, sum, whole_globe_seconds_per_granule: globalSecondsPerGranule };
  const oursThreaded = { threads, ...describe(median(multi.seconds)), all_seconds: multi.seconds };
  const result: Record<string, unknown> = {
    benchmark: "smap-reader",
    description:
      "AM+PM soil_moisture and retrieval_qual_flag on a 9 km regional window, fill/range/quality screening, from synthetic global-size SPL3SMP_E granules",
    window,
    granules: files.length,
    granule_MB_total: fileBytes / 1e6,
    pixels_per_run: pixels,
    ours_1_thread: ours,
    ours_threaded: oursThreaded,
  };
  if ("error" in h5py) result.h5py = h5py;
  else {
    const theirs = {
      ...describe(median(h5py.seconds)),
      all_seconds: h5py.seconds,
      valid: h5py.valid,
      sum: h5py.sum,
      versions: { h5py: h5py.h5py, hdf5: h5py.hdf5, numpy: h5py.numpy },
    };
    result.h5py = theirs;
    result.same_work = theirs.valid === valid && Math.abs(theirs.sum - sum) < 1e-6 * Math.abs(sum);
    result.speed_ratio_ours_1_thread_over_h5py = theirs.seconds / ours.seconds;
    result.speed_ratio_ours_threaded_over_h5py = theirs.seconds / oursThreaded.seconds;
    result.note =
      "h5py reads on one thread (HDF5 is not thread-parallel within a process); ours_threaded reads granules on worker threads, as smapfill ingest does";
  }
  return result;
}
