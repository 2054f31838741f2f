/**
 * Every command on the bad-input corpus (corpus.ts): a non-zero exit (2 for bad input; the
 * argument parser's usage errors keep 1), or 0 with a named warning where the input is usable;
 * one line naming the file, key or variable and the fix; no stack trace; nothing that existed
 * changed. Plus seeded fuzzing of the config loader, the ISMN parser and the npy reader, damaged
 * ISMN downloads and model folders, warnings under --quiet, and a cube of an older format.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { makeCorpus, type Corpus } from "./corpus.js";
import { Ease2Grid } from "../../src/grid/ease2.js";
import { REPO_ROOT, realFile, tempDir } from "../helpers.js";
import { fileHashes } from "../helpers.js";
import { loadStudy } from "../../src/config/study.js";
import { parseIsmnText, readIsmn } from "../../src/io/ismn.js";
import { smallChunkedCube } from "../test-world.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { SmapfillError } from "../../src/util/errors.js";
import { Rng } from "../../src/util/random.js";

const BIN = path.join(REPO_ROOT, "bin", "smapfill.js");
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, SMAPFILL_THREADS: "2" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

interface Case {
  name: string;
  args: (c: Corpus, out: string) => string[];
  code: number;
  /** What the output must say (stderr for errors, stdout + stderr for warnings), each in any order. */
  says: RegExp | RegExp[];
  /** What it must not say. */
  never?: RegExp;
}

const PAK_BBOX = "25,28.5,67,73";
const ingest = (c: Corpus, out: string, extra: string[] = []) => [
  "ingest-smap",
  c.granules,
  "--cube",
  path.join(out, "c.zarr"),
  "--bbox",
  PAK_BBOX,
  "--start",
  "2020-01-01",
  ...extra,
];
const study = (c: Corpus, name: string, predictor: string, region = "{ bbox: [25.0, 28.5, 67.0, 73.0] }") =>
  c.study(
    name,
    `name: ${name}\nregion: ${region}\nperiod: { start: 2020-01-01, end: 2020-01-03 }\noutput: ${name}.zarr\nsmap: { granules: granules }\npredictors:\n${predictor}`,
  );

const CASES: Case[] = [
  {
    name: "a granule file where a folder is expected",
    args: (c, o) => ["ingest-smap", c.goodGranule, "--cube", path.join(o, "c.zarr"), "--bbox", PAK_BBOX, "--start", "2020-01-01", "--end", "2020-01-02"],
    code: 2,
    says: /SMAP_L3_SM_P_E_20200104_R00000_001\.h5: is a file, but a directory of granules is expected\. Give the folder/,
  },
  {
    name: "truncated, zero-byte and renamed granules are named, the rest is read",
    args: (c, o) => ingest(c, o, ["--end", "2020-01-06"]),
    code: 0,
    says: [
      /failed: .*20200104_R00000_001\.h5: cannot open HDF5 file/,
      /failed: .*20200105_R00000_001\.h5: not an HDF5/,
      /failed: .*smap_jan6\.h5: not named like a SMAP L3 granule/,
      /3 granules/,
    ],
  },
  {
    name: "a period partly past the last granule names the missing days",
    args: (c, o) => ingest(c, o, ["--end", "2020-01-12"]),
    code: 0,
    says: /no granule for 7 days: 2020-01-06\.\.2020-01-12/,
  },
  {
    name: "a region with no SMAP retrieval at all",
    args: (c, o) => ["ingest-smap", c.granules, "--cube", path.join(o, "c.zarr"), "--bbox", "-40,-39,-30,-29", "--start", "2020-01-01", "--end", "2020-01-03"],
    code: 2,
    says: /has no SMAP retrieval anywhere in the region .*\. Check the region/,
  },
  {
    name: "--threads 0",
    args: (c, o) => ["--threads", "0", ...ingest(c, o, ["--end", "2020-01-02"])],
    code: 1,
    says: /--threads <n>' argument '0' is invalid\. expected a whole number >= 1/,
  },
  {
    name: "--redo with a reversed range",
    args: (c, o) => ingest(c, o, ["--end", "2020-01-03", "--redo", "2020-01-03..2020-01-01"]),
    code: 2,
    says: /--redo 2020-01-03\.\.2020-01-01 is not a range of days/,
  },
  {
    name: "a bbox of the wrong type",
    args: (c) => ["ingest", study(c, "bbox_type", "  []", '{ bbox: "25, 28.5, 67, 73" }')],
    code: 2,
    says: /region: expected either \{ bbox: \[south, north, west, east\] \} in degrees/,
  },
  {
    name: "a misspelt key",
    args: (c) => [
      "ingest",
      c.study(
        "misspelt",
        "name: x\nregion: { bbox: [25, 28.5, 67, 73] }\nperiod: { start: 2020-01-01, end: 2020-01-02 }\noutput: x.zarr\nsmap: { granules: granules, qualty: any }\n",
      ),
    ],
    code: 2,
    says: /smap: unknown key\(s\) 'qualty': check the spelling/,
  },
  {
    name: "a CDS zip saved as .nc",
    args: (c) => ["ingest", study(c, "zip", "  - { name: swvl1, files: era5_download.nc, variable: swvl1, kind: dynamic }")],
    code: 2,
    says: /era5_download\.nc: is a zip archive, not a NetCDF file .*Unpack it/,
  },
  {
    name: "a GeoTIFF without georeferencing",
    args: (c) => ["ingest", study(c, "nogeo", "  - { name: elev, files: no_georef.tif, variable: elev, kind: static }")],
    code: 2,
    says: /no_georef\.tif: has no georeferencing .*gdal_translate -a_srs EPSG:4326 -a_ullr/,
  },
  {
    name: "a multi-band GeoTIFF without band choice",
    args: (c) => ["ingest", study(c, "multiband", "  - { name: veg, files: three_bands_plain.tif, variable: veg, kind: static }")],
    code: 2,
    says: /three_bands_plain\.tif: veg: has 3 bands and none was chosen\. Give band: N/,
  },
  {
    name: "a GeoTIFF variable no band describes",
    args: (c) => ["ingest", study(c, "noband", "  - { name: veg, files: three_bands.tif, variable: fpar, kind: static }")],
    code: 2,
    says: /three_bands\.tif: fpar: no band is described as 'fpar'\. .*Bands: 1 'ndvi', 2 'evi', 3 'lai'/,
  },
  {
    name: "a predictor that does not cover the region",
    args: (c) => ["ingest", study(c, "cover", `  - { name: swvl1, files: ${c.era5}, variable: swvl1, kind: dynamic }`, "{ bbox: [25.0, 28.5, 60.0, 73.0] }")],
    code: 2,
    says: /does not cover the region/,
  },
  {
    name: "a predictor covering part of the region, accepted with partial_coverage",
    args: (c) => [
      "ingest",
      study(
        c,
        "partial",
        `  - { name: swvl1, files: ${c.era5}, variable: swvl1, kind: dynamic, partial_coverage: true }`,
        "{ bbox: [25.0, 28.5, 60.0, 73.0] }",
      ),
      "--quiet",
    ],
    code: 0,
    says: /swvl1\s+[1-8]\d\.\d % with a value/,
  },
  {
    name: "a predictor in the wrong scale is warned with its plausible range",
    args: (c) => [
      "ingest",
      study(c, "scale", `  - { name: swvl1, files: ${c.era5}, variable: swvl1, kind: dynamic, units: { to: m3 m-3 }, scale: 100 }`),
      "--quiet",
    ],
    code: 0,
    says: /warning\s+swvl1: \d+ values outside the plausible range \[0, 1\] m3 m-3: check the units or the scale/,
  },
  {
    name: "train with every feature missing",
    args: (c, o) => ["train", path.join(c.dir, "all_nan"), "--model", "xgb", "--out", path.join(o, "m"), "--quiet"],
    code: 2,
    says: /every feature of every training row is missing\. The predictors have no values/,
  },
  {
    name: "train without test rows warns and saves",
    args: (c, o) => ["train", path.join(c.dir, "no_test"), "--model", "xgb", "--out", path.join(o, "m"), "--quiet", "--xgb-rounds", "5"],
    code: 0,
    says: /warning: .*no_test\/split\.npy has no test rows/,
  },
  {
    name: "a dataset whose files disagree",
    args: (c, o) => ["train", path.join(c.dir, "mismatched"), "--model", "xgb", "--out", path.join(o, "m")],
    code: 2,
    says: /mismatched: X has 290 rows, y 300, split 300/,
  },
  {
    name: "predict into a folder that does not exist",
    args: (c, o) => ["predict", path.join(o, "nomodel"), path.join(c.dir, "no_test"), "--out", path.join(o, "no", "p.npy")],
    code: 2,
    says: /the folder of .*p\.npy does not exist/,
  },
  {
    name: "ERA5-Land downloaded twice (two files over one month) is refused, naming both files and the hours",
    args: (c) => ["ingest", study(c, "twice", "  - { name: swvl1, files: era5_twice/*.nc, variable: swvl1, kind: dynamic }")],
    code: 2,
    says: /ERA5_Pakistan_20200101_20200131\.nc: predictor 'swvl1' \(swvl1\): ERA5_Pakistan_20200101_20200131_final\.nc overlaps it from 2020-01-01T00:00Z to 2020-01-31T23:00Z\. Two versions of the same hours would be blended .*set on_duplicate: first\|last\|newest-file/,
  },
  {
    name: "files overlapping in time, resolved by on_duplicate: last",
    args: (c) => [
      "ingest",
      study(c, "twice_last", "  - { name: swvl1, files: era5_twice/*.nc, variable: swvl1, kind: dynamic, on_duplicate: last }"),
      "--quiet",
    ],
    code: 0,
    says: /note +swvl1: 744 steps of ERA5_Pakistan_20200101_20200131\.nc dropped \(on_duplicate: last\)/,
  },
  {
    name: "an hour repeated in one file (a second version of a day appended) is refused",
    args: (c) => ["ingest", study(c, "repeated", "  - { name: swvl1, files: era5_repeated_hours.nc, variable: swvl1, kind: dynamic }")],
    code: 2,
    says: /era5_repeated_hours\.nc: predictor 'swvl1' \(swvl1\): the file holds 2020-01-02T00:00Z more than once \(and 23 more repeated times\)/,
  },
  {
    name: "ERA5's packing noise (-1e-20) is not taken for a unit error",
    args: (c) => [
      "ingest",
      study(c, "noise", "  - { name: swvl1, files: era5_packing_noise.nc, variable: swvl1, kind: dynamic, units: { to: m3 m-3 } }"),
      "--quiet",
    ],
    code: 0,
    says: /swvl1 +\d+\.\d % with a value/,
    never: /outside the plausible range/,
  },
  {
    name: "a JSON config with a key written twice is refused (JSON would keep the last silently)",
    args: (c) => [
      "ingest",
      c.study(
        "twice.json",
        '{\n  "name": "x",\n  "region": { "bbox": [25, 28.5, 67, 73] },\n  "period": { "start": "2020-01-01", "end": "2020-01-03",\n    "end": "2020-01-02" },\n  "output": "x.zarr",\n  "smap": { "granules": "granules" }\n}\n',
      ),
    ],
    code: 2,
    says: /twice\.json: the key 'period\.end' is written twice \(line 5\); JSON would keep only the last value\. Remove one of them/,
  },
  {
    name: "granules reached through symbolic links are read (a glob follows them); a broken link is named",
    args: (c) => [
      "ingest",
      c.study(
        "links",
        "name: links\nregion: { bbox: [25.0, 28.5, 67.0, 73.0] }\nperiod: { start: 2020-01-01, end: 2020-01-04 }\noutput: links.zarr\nsmap: { granules: granule_links/*.h5 }\n",
      ),
    ],
    code: 0,
    says: [/SMAP +3 granules/, /failed: .*granule_links\/SMAP_L3_SM_P_E_20200104_R00000_001\.h5: is a broken symbolic link \(its target is gone\): skipped/],
  },
  {
    name: "only a broken link where granules should be: the error says what was found",
    args: (c, o) => [
      "ingest-smap",
      path.join(c.dir, "broken_links"),
      "--cube",
      path.join(o, "c.zarr"),
      "--bbox",
      PAK_BBOX,
      "--start",
      "2020-01-01",
      "--end",
      "2020-01-02",
    ],
    code: 2,
    says: /broken_links: no SMAP L3 granule dated 2020-01-01 \.\. 2020-01-02: none of the 1 files found is a readable granule with NASA's name \(1 are broken symbolic links\)/,
  },
  {
    name: "ingest-smap over the globe for ten years gives an estimate and obeys --memory",
    args: (c, o) => [
      "ingest-smap",
      c.granules,
      "--cube",
      path.join(o, "c.zarr"),
      "--bbox",
      "-85,85,-180,180",
      "--start",
      "2015-04-01",
      "--end",
      "2025-03-31",
      "--memory",
      "1G",
    ],
    code: 2,
    says: [
      /ingest-smap: 1624 x 3856 cells x 3653 days: about 3\.0 GiB of memory/,
      /c\.zarr: a chunk of days of this region needs about 3\.0 GiB, more than --memory 1\.0 GiB/,
    ],
  },
  {
    name: "inspect a file that is not HDF5",
    args: (c) => ["inspect", path.join(c.dir, "three_bands.tif")],
    code: 2,
    says: /three_bands\.tif: not an HDF5\/NetCDF-4 file/,
  },
];

let corpus: Corpus | undefined;

for (const c of CASES) {
  test(`bad input: ${c.name}`, () => {
    corpus ??= makeCorpus(path.join(tempDir(), "corpus"));
    const out = tempDir();
    const before = fileHashes(corpus.dir);
    const r = run(c.args(corpus, out));
    const text = r.code === 0 ? r.out + r.err : r.err;
    assert.equal(r.code, c.code, `${r.out}\n${r.err}`);
    for (const says of Array.isArray(c.says) ? c.says : [c.says]) assert.match(text, says);
    if (c.never) assert.doesNotMatch(r.out + r.err, c.never);
    assert.doesNotMatch(r.err, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
    // One error line, naming the file or key (a config's further problems follow it, one per line).
    if (r.code === 2) assert.equal(r.err.split("\n").filter((l) => l.startsWith("error: ")).length, 1, `one error line: ${r.err}`);
    // Nothing that existed changed (outputs go to their own folder, which is fresh).
    const after = fileHashes(corpus.dir);
    for (const [file, h] of before) assert.equal(after.get(file), h, `${file} changed`);
  });
}

test("a granule downloaded again is read on the next run; --redo rebuilds days on request", () => {
  const corpusDir = path.join(tempDir(), "corpus");
  const c = makeCorpus(corpusDir);
  const out = tempDir();
  const args = ingest(c, out, ["--end", "2020-01-04"]);
  const first = run(args);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /failed: .*20200104/);
  const again = run(args);
  assert.match(again.out, /failed: .*20200104/, "a granule that still fails is tried again and named");
  fs.copyFileSync(c.goodGranule, c.truncated);
  const fixed = run(args);
  assert.equal(fixed.code, 0, fixed.err);
  assert.doesNotMatch(fixed.out, /failed: .*20200104/);
  assert.match(fixed.out, /1 blocks read again/);
  const done = run(args);
  assert.match(done.out, /blocks done before/);
  assert.doesNotMatch(done.out, /read again/);
  const redo = run([...args, "--redo", "2020-01-02..2020-01-02"]);
  assert.match(redo.out, /1 blocks read again/);
});

test("evaluate names the ISMN files it could not read and the impossible values it dropped", async () => {
  const c = makeCorpus(path.join(tempDir(), "corpus"));
  const { readStations } = await import("../../src/eval/stations.js");
  const logs: string[] = [];
  const { Cube } = await import("../../src/cube/cube.js");
  const cube = await Cube.create(path.join(tempDir(), "c.zarr"), {
    resolution: "9km",
    window: Ease2Window(),
    start: "2019-06-01",
    days: 30,
    variables: [{ name: "soil_moisture", kind: "dynamic", units: "m3 m-3", long_name: "sm" }],
  });
  try {
    readStations({ ismn: path.join(c.dir, "ismn"), ismnFlags: ["G"], ismnMaxDepth: 0.06, insituValue: "daily", nBoot: 0, seed: 0 }, cube, (m) => logs.push(m));
  } catch {
    // The station may lie outside this small window: the warnings come first.
  }
  assert.ok(
    logs.some((l) => /warning: ISMN file not read: .*BROKEN_BROKEN_X1/.test(l)),
    logs.join("\n"),
  );
  assert.ok(
    logs.some((l) => /RISMA\/MB11 .*: 1 values outside \[0, 0\.8\] m3\/m3 dropped/.test(l)),
    logs.join("\n"),
  );
});

/** A small window of the 9 km grid around RISMA MB11 (Manitoba, about 49.6 N, 98.2 W). */
function Ease2Window() {
  return Ease2Grid.of("9km").windowFromBBox({ south: 49.3, north: 49.9, west: -98.6, east: -97.8 });
}

test("a cube whose root zarr.json zarr-python 2 rewrote is repaired from its copy, with a warning", async () => {
  const { Cube } = await import("../../src/cube/cube.js");
  const file = path.join(tempDir(), "c.zarr");
  await Cube.create(file, { resolution: "9km", window: { row0: 300, col0: 3000, nrows: 4, ncols: 4 }, start: "2020-01-01", days: 3, variables: [] });
  const original = fs.readFileSync(path.join(file, "zarr.json"), "utf8");
  fs.writeFileSync(
    path.join(file, "zarr.json"),
    JSON.stringify({
      extensions: [],
      metadata_encoding: "https://purl.org/zarr/spec/protocol/core/3.0",
      metadata_key_suffix: ".json",
      zarr_format: "https://purl.org/zarr/spec/protocol/core/3.0",
    }),
  );
  const r = run(["inspect", file]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /warning: .*c\.zarr: zarr\.json had been rewritten by zarr-python 2's experimental Zarr v3 API .*restored/);
  assert.equal(fs.readFileSync(path.join(file, "zarr.json"), "utf8"), original);
  fs.rmSync(path.join(file, ".smapfill-root.json"));
  fs.writeFileSync(path.join(file, "zarr.json"), JSON.stringify({ zarr_format: "https://purl.org/zarr/spec/protocol/core/3.0" }));
  const lost = run(["inspect", file]);
  assert.equal(lost.code, 2);
  assert.match(lost.err, /no copy to restore it from\. Rebuild the cube/);
});

/** Applies `count` seeded byte mutations (flip, delete, duplicate a span) to `bytes`. */
function mutate(bytes: Buffer, rng: Rng, count: number): Buffer {
  let b = Buffer.from(bytes);
  for (let i = 0; i < count; i++) {
    const at = rng.int(Math.max(1, b.length));
    const kind = rng.int(3);
    if (kind === 0) b[at] = rng.int(256);
    else if (kind === 1) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16)))]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + rng.int(16)), b.subarray(at)]);
  }
  return b;
}

test("fuzz: mutated configs, ISMN files and npy files give a result or a SmapfillError, never another exception (200 seeded mutations each)", () => {
  const dir = tempDir();
  const rng = new Rng(2026);
  const yaml = Buffer.from(fs.readFileSync(path.join(REPO_ROOT, "examples", "pakistan-2020-01.yaml"), "utf8").replaceAll("../../shared/data/real", realFile()));
  // The first 400 lines of a real station file (all of it is decades of hourly values: slow to parse 200 times).
  const stmText = fs.readFileSync(
    realFile("ismn", "tuw_ismn_tests", "RISMA_test_data", "RISMA_RISMA_MB11_sm_0.000000_0.050000_Hydraprobe-II-Sdi-12-C_19500101_20230521.stm"),
    "utf8",
  );
  const stm = Buffer.from(stmText.split("\n").slice(0, 400).join("\n"));
  const npy = path.join(dir, "seed.npy");
  writeNpy(npy, new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  const npyBytes = fs.readFileSync(npy);
  const outcomes = { ok: 0, refused: 0 };
  for (let i = 0; i < 200; i++) {
    for (const [name, bytes, read] of [
      ["study.yaml", yaml, (f: string) => loadStudy(f)],
      ["ISMN_ISMN_S1_sm_0.000000_0.050000_P_20200101_20200131.stm", stm, (f: string) => readIsmn(f)],
      ["x.npy", npyBytes, (f: string) => readNpy(f)],
    ] as const) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, mutate(bytes, rng, 1 + rng.int(4)));
      try {
        read(file);
        outcomes.ok++;
      } catch (error) {
        if (!(error instanceof SmapfillError)) assert.fail(`${name} mutation ${i}: ${(error as Error).stack}`);
        assert.ok(error.message.includes(name), `the error names the file: ${error.message}`);
        outcomes.refused++;
      }
    }
  }
  assert.ok(outcomes.refused > 50 && outcomes.ok > 50, JSON.stringify(outcomes));
});

test("ISMN: an impossible date is refused (not rolled over), a truncated zip and a symbolic link loop are named and skipped, the good station is read", () => {
  const c = makeCorpus(path.join(tempDir(), "corpus"));
  const r = readIsmn(c.ismnDamaged);
  const failures = r.failures.map((f) => `${path.relative(c.ismnDamaged, f.file)}: ${f.error}`).sort();
  assert.equal(failures.length, 4, failures.join("\n"));
  assert.match(failures[0]!, /^Data_separate_files_20190101_20191231\.zip: is a damaged or truncated zip archive \(.*\): skipped; download it again$/);
  assert.match(
    failures[1]!,
    /^RISMA\/RISMA_RISMA_MB12_.*\.stm: .*: line \d+: '2019\/13\/05 \d\d:\d\d' is not a valid date and time\. ISMN writes YYYY\/MM\/DD HH:MM/,
  );
  assert.match(failures[2]!, /^RISMA\/loop: links back to .*ismn_damaged, a folder already read \(a symbolic link loop\): skipped$/);
  assert.match(failures[3]!, /^self: is a symbolic link loop: skipped$/);
  assert.deepEqual(
    r.series.map((s) => s.station),
    ["MB11"],
  );
  // Valid dates still read, to the minute.
  const [s] = parseIsmnText(
    "X_X_S_sm_0.000000_0.050000_P_20190101_20190201.stm",
    "H N S 49.0 -98.0 300 0.00 0.05 probe\n2019/12/31 23:00 0.25 G M\n2020/02/29 06:30 0.26 G M\n",
  );
  assert.deepEqual(
    Array.from(s!.times, (t) => new Date(t).toISOString()),
    ["2019-12-31T23:00:00.000Z", "2020-02-29T06:30:00.000Z"],
  );
  assert.throws(
    () => parseIsmnText("a.stm", "H N S 49.0 -98.0 300 0.00 0.05 probe\n2019/02/29 06:00 0.25 G M\n"),
    /line 2: '2019\/02\/29 06:00' is not a valid date/,
  );
  assert.throws(
    () => parseIsmnText("a.stm", "H N S 49.0 -98.0 300 0.00 0.05 probe\n2019/02/01 24:00 0.25 G M\n"),
    /line 2: '2019\/02\/01 24:00' is not a valid date/,
  );
});

test("--quiet keeps the warnings: an ISMN file that cannot be read is still named", async () => {
  const dir = tempDir();
  const { cube } = await smallChunkedCube(dir);
  const ismn = path.join(dir, "ismn");
  fs.cpSync(path.join(dir, "w", "ismn"), ismn, { recursive: true });
  fs.writeFileSync(path.join(ismn, "BROKEN_BROKEN_X1_sm_0.000000_0.050000_Probe_20190301_20190409.stm"), "not an ISMN file\n");
  const args = ["evaluate", cube, "--out", path.join(dir, "e"), "--models", "linear_interp", "--reference", "linear_interp", "--ablation-pairs", "none"];
  const r = run([...args, "--importance", "none", "--boot", "0", "--ismn", ismn, "--quiet"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /warning: ISMN file not read: .*BROKEN_BROKEN_X1_sm.*\.stm: has a header line ISMN does not write/);
  assert.doesNotMatch(r.err, /BROKEN_BROKEN_X1_sm[^:]*: .*BROKEN_BROKEN_X1_sm/, "the file is named once");
  assert.doesNotMatch(r.err, /^in situ: |^gaps split/m, "progress stays quiet");
});

test("a damaged model folder: every damaged file named, one line each, no stack trace", () => {
  const c = makeCorpus(path.join(tempDir(), "corpus"));
  const dir = tempDir();
  const model = path.join(dir, "model");
  const trained = run(["train", path.join(c.dir, "no_test"), "--model", "xgb", "--out", model, "--quiet", "--xgb-rounds", "5"]);
  assert.equal(trained.code, 0, trained.err);
  const damaged = (name: string, edit: (m: string) => void) => {
    const copy = path.join(dir, name);
    fs.cpSync(model, copy, { recursive: true });
    edit(copy);
    return copy;
  };
  const predict = (m: string) => run(["predict", m, path.join(c.dir, "no_test"), "--out", path.join(dir, `${path.basename(m)}.npy`)]);
  const cases: [string, (m: string) => void, RegExp][] = [
    [
      "truncated",
      (m) => fs.writeFileSync(path.join(m, "model.json"), fs.readFileSync(path.join(m, "model.json")).subarray(0, 100)),
      /model\.json: is truncated \(100 bytes: /,
    ],
    [
      "fields",
      (m) => {
        const j = JSON.parse(fs.readFileSync(path.join(m, "model.json"), "utf8"));
        delete j.trees;
        j.featureNames = "x";
        fs.writeFileSync(path.join(m, "model.json"), JSON.stringify(j));
        fs.writeFileSync(path.join(m, "fit.json"), "");
      },
      /fields: is a damaged model folder \(train the model again, or copy the whole folder again\):\n {2}model\.json: lacks featureNames \(not a list\), trees \(missing\)\n {2}fit\.json: is empty \(a copy cut short\?\)/,
    ],
  ];
  for (const [name, edit, says] of cases) {
    const r = predict(damaged(name, edit));
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, says);
    assert.doesNotMatch(r.err, /\n\s+at .*:\d+:\d+/, "no stack trace");
    assert.equal(r.err.split("\n").filter((l) => l.startsWith("error: ")).length, 1);
  }
});

test("a product model with an empty or truncated uncertainty.json is refused naming it, before anything is made", async () => {
  const dir = tempDir();
  const { cube } = await smallChunkedCube(dir);
  const model = path.join(dir, "model");
  assert.equal(run(["train", cube, "--model", "xgb", "--out", model, "--xgb-rounds", "5", "--max-train-samples", "1000", "--quiet"]).code, 0);
  for (const [bytes, says] of [
    ["", /uncertainty\.json: is empty \(a copy cut short\?\)/],
    [fs.readFileSync(path.join(model, "uncertainty.json")).subarray(0, 50), /uncertainty\.json: is truncated \(50 bytes/],
    ['{"method": "x"}', /uncertainty\.json: lacks q90 \(missing\), q90Distance \(missing\), q90All \(missing\), counts \(missing\)/],
  ] as const) {
    fs.writeFileSync(path.join(model, "uncertainty.json"), bytes);
    const out = path.join(dir, "p");
    const r = run(["reconstruct", cube, "--model", model, "--out", out]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, says);
    assert.ok(!fs.existsSync(out), "no product, no empty --out");
  }
});

test("a cube of format 1 is refused by every command with how to ingest it again", async () => {
  const { Cube } = await import("../../src/cube/cube.js");
  const file = path.join(tempDir(), "old.zarr");
  await Cube.create(file, { resolution: "9km", window: { row0: 300, col0: 3000, nrows: 4, ncols: 4 }, start: "2020-01-01", days: 3, variables: [] });
  const root = JSON.parse(fs.readFileSync(path.join(file, "zarr.json"), "utf8"));
  root.attributes.smapfill.format_version = 1;
  fs.writeFileSync(path.join(file, "zarr.json"), JSON.stringify(root));
  for (const args of [
    ["inspect", file],
    ["verify", file],
  ]) {
    const r = run(args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /old\.zarr: is a smapfill cube of format 1; this smapfill reads format 2 .*Ingest it again: smapfill ingest STUDY\.yaml/);
  }
});
