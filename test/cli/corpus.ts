/**
 * The bad-input corpus: broken, misnamed and nonsensical inputs made from the real shared files
 * (SMAP granules, ERA5-Land, ISMN), as users produce them: truncated, zero-byte and renamed
 * granules, a zip saved as .nc, GeoTIFFs without georeferencing or with several bands, wrong
 * configs, impossible ISMN values, inconsistent dataset folders, a cube zarr-python 2 rewrote;
 * ERA5-Land downloaded twice (two files over one month), a file with a repeated hour, ERA5's
 * packing noise (-1e-20); a JSON config with a key written twice; ISMN files with an impossible
 * date, a truncated ISMN zip and a symbolic link loop in an ISMN folder; granules reached through
 * symbolic links, one of them broken.
 */
import fs from "node:fs";
import path from "node:path";
import { writeArrayBuffer } from "geotiff";
import { zipSync } from "fflate";
import { writeCog } from "../../src/io/cog-writer.js";
import { writeNpy } from "../../src/io/npy.js";
import { openHdf5 } from "../../src/io/hdf5.js";
import { writeNetcdf4 } from "../../src/io/netcdf-writer.js";
import { Ease2Grid } from "../../src/grid/ease2.js";
import { realFile } from "../helpers.js";

export interface Corpus {
  dir: string;
  /** A granule folder: 3 good days, one truncated, one zero-byte, one renamed. */
  granules: string;
  goodGranule: string;
  truncated: string;
  study: (name: string, body: string) => string;
  era5: string;
  /** An ISMN folder with a good station file, an impossible date, a truncated zip and a symbolic link loop. */
  ismnDamaged: string;
}

const PAK = realFile("pakistan_2020", "SPL3SMP_E");
const granule = (day: number) => path.join(PAK, `SMAP_L3_SM_P_E_202001${String(day).padStart(2, "0")}_R00000_001.h5`);

/** A minimal zip holding one stored file (enough for `file` and for our magic check). */
function zipOf(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(20, 4);
  header.writeUInt32LE(0, 14); // CRC left 0: readers that matter here stop at the signature
  header.writeUInt32LE(data.length, 18);
  header.writeUInt32LE(data.length, 22);
  header.writeUInt16LE(name.length, 26);
  return Buffer.concat([header, Buffer.from(name), data]);
}

/** A classic TIFF (either byte order) with its GeoTIFF tags (33550, 33922, 34264, 34735-34737) renamed to private tags. */
function stripGeoTags(tiff: Buffer): Buffer {
  const b = Buffer.from(tiff);
  const le = b.toString("latin1", 0, 2) === "II";
  const u16 = (at: number) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const ifd = le ? b.readUInt32LE(4) : b.readUInt32BE(4);
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const at = ifd + 2 + 12 * i;
    if ([33550, 33922, 34264, 34735, 34736, 34737].includes(u16(at))) {
      if (le) b.writeUInt16LE(65000 + i, at);
      else b.writeUInt16BE(65000 + i, at);
    }
  }
  return b;
}

export function makeCorpus(dir: string): Corpus {
  fs.mkdirSync(dir, { recursive: true });
  const granules = path.join(dir, "granules");
  fs.mkdirSync(granules);
  for (const d of [1, 2, 3]) fs.copyFileSync(granule(d), path.join(granules, path.basename(granule(d))));
  const truncated = path.join(granules, path.basename(granule(4)));
  fs.writeFileSync(truncated, fs.readFileSync(granule(4)).subarray(0, 20000));
  fs.writeFileSync(path.join(granules, path.basename(granule(5))), "");
  fs.copyFileSync(granule(6), path.join(granules, "smap_jan6.h5"));

  const era5 = realFile("pakistan_2020", "era5_land", "ERA5_Pakistan_20200101_20200131.nc");
  fs.writeFileSync(path.join(dir, "era5_download.nc"), zipOf("data.nc", fs.readFileSync(era5).subarray(0, 4096)));
  // GeoTIFFs: one without georeferencing, one with three described bands (EASE-2, over Pakistan).
  // geotiff.js adds whole-globe EPSG:4326 keys when none are given: drop them from its output.
  fs.writeFileSync(
    path.join(dir, "no_georef.tif"),
    stripGeoTags(Buffer.from(writeArrayBuffer(new Float32Array(64 * 64).fill(1), { width: 64, height: 64 }) as ArrayBuffer)),
  );
  const g = Ease2Grid.of("9km");
  const w = g.windowFromBBox({ south: 24, north: 29.5, west: 66, east: 74 });
  const n = w.nrows * w.ncols;
  writeCog(path.join(dir, "three_bands.tif"), {
    width: w.ncols,
    height: w.nrows,
    bands: ["ndvi", "evi", "lai"].map((d, k) => ({ values: new Float32Array(n).fill(0.1 * (k + 1)), description: d })),
    epsg: 6933,
    originX: g.colToX(w.col0) - g.cellSize / 2,
    originY: g.rowToY(w.row0) + g.cellSize / 2,
    cellWidth: g.cellSize,
    cellHeight: g.cellSize,
  });
  writeCog(path.join(dir, "three_bands_plain.tif"), {
    width: w.ncols,
    height: w.nrows,
    bands: [0, 1, 2].map((k) => ({ values: new Float32Array(n).fill(k), description: "" })),
    epsg: 6933,
    originX: g.colToX(w.col0) - g.cellSize / 2,
    originY: g.rowToY(w.row0) + g.cellSize / 2,
    cellWidth: g.cellSize,
    cellHeight: g.cellSize,
  });

  // Dataset folders: all-NaN features, no test rows, rows that do not match.
  const names = ["a", "b", "c"];
  const dataset = (name: string, X: Float32Array, y: Float32Array, split: Int8Array) => {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    writeNpy(path.join(d, "X.npy"), X, [y.length === X.length / 3 ? y.length : X.length / 3, 3]);
    writeNpy(path.join(d, "y.npy"), y, [y.length]);
    writeNpy(path.join(d, "split.npy"), split, [split.length]);
    fs.writeFileSync(path.join(d, "features.json"), JSON.stringify({ names, groups: ["dynamic", "dynamic", "static"] }));
  };
  const N = 300;
  const y = Float32Array.from({ length: N }, (_, i) => 0.1 + (i % 30) / 100);
  const split = Int8Array.from({ length: N }, (_, i) => (i % 10 < 7 ? 0 : i % 10 < 9 ? 1 : 2));
  dataset("all_nan", new Float32Array(N * 3).fill(NaN), y, split);
  dataset(
    "no_test",
    Float32Array.from({ length: N * 3 }, (_, k) => (k % 7) / 7),
    y,
    Int8Array.from(split, (s) => (s === 2 ? 0 : s)),
  );
  dataset(
    "mismatched",
    Float32Array.from({ length: (N - 10) * 3 }, (_, k) => k),
    y,
    split,
  );

  // ISMN: a real station file with an impossible value flagged good, and a broken file.
  const ismn = path.join(dir, "ismn");
  fs.mkdirSync(ismn);
  const stm = realFile("ismn", "tuw_ismn_tests", "RISMA_test_data", "RISMA_RISMA_MB11_sm_0.000000_0.050000_Hydraprobe-II-Sdi-12-C_19500101_20230521.stm");
  const lines = fs.readFileSync(stm, "utf8").split(/\r?\n/);
  const k = lines.findIndex((l, i) => i > 0 && / G\b/.test(l));
  lines[k] = lines[k]!.replace(/(\S+)(\s+G\b)/, "5.000$2");
  fs.writeFileSync(path.join(ismn, path.basename(stm)), lines.join("\n"));
  fs.writeFileSync(path.join(ismn, "BROKEN_BROKEN_X1_sm_0.000000_0.050000_Probe_20200101_20200131.stm"), "not an ISMN file\n");

  const study = (name: string, body: string) => {
    const file = path.join(dir, name.endsWith(".json") ? name : `${name}.yaml`);
    fs.writeFileSync(file, body);
    return file;
  };

  // ERA5-Land downloaded twice (a second copy beside the first), an hour repeated in one file (a
  // second version of a day appended), and ERA5's packing noise around zero.
  fs.mkdirSync(path.join(dir, "era5_twice"));
  fs.copyFileSync(era5, path.join(dir, "era5_twice", "ERA5_Pakistan_20200101_20200131.nc"));
  fs.copyFileSync(era5, path.join(dir, "era5_twice", "ERA5_Pakistan_20200101_20200131_final.nc"));
  const source = openHdf5(era5);
  const read = (name: string) => (source.get(name) as unknown as { value: ArrayLike<number> }).value;
  const times = Float64Array.from(read("valid_time") as ArrayLike<number>, Number);
  const lat = Float64Array.from(read("latitude"));
  const lon = Float64Array.from(read("longitude"));
  const cells = lat.length * lon.length;
  const swvl1 = Float32Array.from((read("swvl1") as Float32Array).subarray(0, 72 * cells));
  source.close();
  const era5File = (file: string, t: Float64Array, values: Float32Array) =>
    writeNetcdf4(path.join(dir, file), {
      dimensions: [
        { name: "time", values: t, attributes: { units: "seconds since 1970-01-01", calendar: "proleptic_gregorian" } },
        { name: "latitude", values: lat, attributes: { units: "degrees_north" } },
        { name: "longitude", values: lon, attributes: { units: "degrees_east" } },
      ],
      variables: [{ name: "swvl1", dims: ["time", "latitude", "longitude"], data: values, attributes: { units: "m**3 m**-3" } }],
    });
  const again = Float32Array.from(swvl1.subarray(24 * cells, 48 * cells), (v) => v + 0.3);
  era5File("era5_repeated_hours.nc", Float64Array.from([...times.subarray(0, 72), ...times.subarray(24, 48)]), Float32Array.from([...swvl1, ...again]));
  era5File(
    "era5_packing_noise.nc",
    times.subarray(0, 72),
    Float32Array.from(swvl1, (v, k) => (k % 5 === 0 ? -1e-20 : v)),
  );

  // ISMN: an impossible date (month 13), a zip cut short, a link back to its own folder.
  const ismnDamaged = path.join(dir, "ismn_damaged");
  fs.mkdirSync(path.join(ismnDamaged, "RISMA"), { recursive: true });
  fs.copyFileSync(stm, path.join(ismnDamaged, "RISMA", path.basename(stm)));
  const badDate = lines.map((l, i) => (i === k + 1 ? l.replace(/^\d{4}\/\d{2}\/\d{2}/, "2019/13/05") : l)).join("\n");
  fs.writeFileSync(path.join(ismnDamaged, "RISMA", "RISMA_RISMA_MB12_sm_0.000000_0.050000_Hydraprobe_19500101_20230521.stm"), badDate);
  const zip = zipSync({ [path.basename(stm)]: new Uint8Array(fs.readFileSync(stm)) });
  fs.writeFileSync(path.join(ismnDamaged, "Data_separate_files_20190101_20191231.zip"), zip.subarray(0, zip.length >> 1));
  fs.symlinkSync("..", path.join(ismnDamaged, "RISMA", "loop"));
  fs.symlinkSync("self", path.join(ismnDamaged, "self"));

  // Granules reached through symbolic links (kept elsewhere), one link broken.
  const links = path.join(dir, "granule_links");
  fs.mkdirSync(links);
  for (const d of [1, 2, 3]) fs.symlinkSync(granule(d), path.join(links, path.basename(granule(d))));
  fs.symlinkSync(path.join(dir, "gone", path.basename(granule(4))), path.join(links, path.basename(granule(4))));
  const broken = path.join(dir, "broken_links");
  fs.mkdirSync(broken);
  fs.symlinkSync(path.join(dir, "gone", path.basename(granule(1))), path.join(broken, path.basename(granule(1))));

  return { dir, granules, goodGranule: granule(4), truncated, study, era5, ismnDamaged };
}
