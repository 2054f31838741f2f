/**
 * Cloud-Optimised GeoTIFF writer: tiled, DEFLATE-compressed, internal overviews down to one
 * tile, several bands stored band after band (one band per day), nodata, band descriptions and
 * units in GDAL's metadata tag, and the GeoTIFF keys of a projected CRS by EPSG code.
 *
 * The layout is the one GDAL's COG validator checks: the main image's IFD right after the header,
 * then the overviews' IFDs by decreasing size, then the tile data from the smallest overview to
 * the full-resolution image. Overviews average the valid values of each 2 x 2 block (float
 * data), or keep the top-left value (integer data, e.g. flags). Written to a temporary name and
 * renamed when complete.
 */
import zlib from "node:zlib";
import { SmapfillError } from "../util/errors.js";
import { writeFileAtomic } from "../util/atomic-file.js";

export interface CogBand {
  /** Row-major values [row][col]; NaN (float) or `nodata` (integer) where missing. */
  values: Float32Array | Uint8Array;
  description: string;
}

export interface CogSpec {
  width: number;
  height: number;
  bands: CogBand[];
  /** EPSG code of the projected CRS (6933 for EASE-Grid 2.0 global). */
  epsg: number;
  /** Upper-left corner of the upper-left cell, and the cell size, in CRS units (metres). */
  originX: number;
  originY: number;
  cellWidth: number;
  cellHeight: number;
  /** Nodata for integer bands (float bands use NaN). */
  nodata?: number;
  units?: string;
  /** Dataset-level metadata items (name -> value). */
  metadata?: Record<string, string>;
  tileSize?: 256 | 512;
  deflateLevel?: number;
}

type Tag = { tag: number; type: 2 | 3 | 4 | 12; values: number[] | string };
const TYPE_SIZE = { 2: 1, 3: 2, 4: 4, 12: 8 } as const;

function xmlEscape(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** One image (full resolution or an overview): bands of width x height. */
interface Level {
  width: number;
  height: number;
  bands: (Float32Array | Uint8Array)[];
}

function halve(level: Level, float: boolean, nodata: number): Level {
  const width = Math.max(1, Math.ceil(level.width / 2));
  const height = Math.max(1, Math.ceil(level.height / 2));
  const bands = level.bands.map((src) => {
    const out = float ? new Float32Array(width * height) : new Uint8Array(width * height);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        if (!float) {
          out[r * width + c] = src[2 * r * level.width + 2 * c]!;
          continue;
        }
        let sum = 0;
        let n = 0;
        for (let dr = 0; dr < 2; dr++)
          for (let dc = 0; dc < 2; dc++) {
            const rr = 2 * r + dr;
            const cc = 2 * c + dc;
            if (rr >= level.height || cc >= level.width) continue;
            const v = src[rr * level.width + cc]!;
            if (!Number.isNaN(v)) ((sum += v), n++);
          }
        out[r * width + c] = n ? sum / n : float ? NaN : nodata;
      }
    }
    return out;
  });
  return { width, height, bands };
}

/** The tiles of one band, row-major, each padded to the full tile with nodata, compressed. */
function tiles(band: Float32Array | Uint8Array, width: number, height: number, tile: number, nodata: number, level: number): Buffer[] {
  const float = band instanceof Float32Array;
  const out: Buffer[] = [];
  for (let ty = 0; ty < Math.ceil(height / tile); ty++) {
    for (let tx = 0; tx < Math.ceil(width / tile); tx++) {
      const block = float ? new Float32Array(tile * tile).fill(NaN) : new Uint8Array(tile * tile).fill(nodata);
      for (let r = 0; r < tile && ty * tile + r < height; r++) {
        const row0 = (ty * tile + r) * width + tx * tile;
        const n = Math.min(tile, width - tx * tile);
        block.set(band.subarray(row0, row0 + n), r * tile);
      }
      out.push(zlib.deflateSync(Buffer.from(block.buffer, block.byteOffset, block.byteLength), { level }));
    }
  }
  return out;
}

/** The IFD of one level (tile offsets filled in later): its tags. */
function levelTags(spec: CogSpec, level: Level, overview: boolean, float: boolean, tileCount: number): Tag[] {
  const n = level.bands.length;
  const tile = spec.tileSize ?? 256;
  const tags: Tag[] = [
    { tag: 254, type: 4, values: [overview ? 1 : 0] },
    { tag: 256, type: 4, values: [level.width] },
    { tag: 257, type: 4, values: [level.height] },
    { tag: 258, type: 3, values: Array(n).fill(float ? 32 : 8) },
    { tag: 259, type: 3, values: [8] },
    { tag: 262, type: 3, values: [1] },
    { tag: 277, type: 3, values: [n] },
    { tag: 284, type: 3, values: [2] },
    { tag: 322, type: 3, values: [tile] },
    { tag: 323, type: 3, values: [tile] },
    { tag: 324, type: 4, values: Array(tileCount).fill(0) },
    { tag: 325, type: 4, values: Array(tileCount).fill(0) },
    ...(n > 1 ? [{ tag: 338, type: 3 as const, values: Array(n - 1).fill(0) }] : []),
    { tag: 339, type: 3, values: Array(n).fill(float ? 3 : 1) },
  ];
  if (!overview) {
    tags.push(
      { tag: 33550, type: 12, values: [spec.cellWidth, spec.cellHeight, 0] },
      { tag: 33922, type: 12, values: [0, 0, 0, spec.originX, spec.originY, 0] },
      // GeoKeyDirectory: version 1.1.0, 4 keys: projected model, pixel is area, the EPSG CRS, metres.
      { tag: 34735, type: 3, values: [1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, spec.epsg, 3076, 0, 1, 9001] },
    );
    const items = [
      ...Object.entries(spec.metadata ?? {}).map(([k, v]) => `<Item name="${xmlEscape(k)}">${xmlEscape(v)}</Item>`),
      ...spec.bands.flatMap((b, i) => [
        `<Item name="DESCRIPTION" sample="${i}" role="description">${xmlEscape(b.description)}</Item>`,
        ...(spec.units ? [`<Item name="UNITTYPE" sample="${i}" role="unittype">${xmlEscape(spec.units)}</Item>`] : []),
      ]),
    ];
    tags.push({ tag: 42112, type: 2, values: `<GDALMetadata>${items.join("")}</GDALMetadata>` });
  }
  tags.push({ tag: 42113, type: 2, values: float ? "nan" : String(spec.nodata ?? 0) });
  return tags.sort((a, b) => a.tag - b.tag);
}

function valueBytes(t: Tag): number {
  return typeof t.values === "string" ? t.values.length + 1 : t.values.length * TYPE_SIZE[t.type];
}

/** IFD size: count, 12 bytes per entry, next offset, then the values that do not fit in 4 bytes. */
function ifdSize(tags: Tag[]): number {
  let size = 2 + 12 * tags.length + 4;
  for (const t of tags) {
    const b = valueBytes(t);
    if (b > 4) size += b + (b % 2);
  }
  return size;
}

function writeIfd(buf: Buffer, at: number, tags: Tag[], next: number): void {
  buf.writeUInt16LE(tags.length, at);
  let extra = at + 2 + 12 * tags.length + 4;
  tags.forEach((t, i) => {
    const e = at + 2 + 12 * i;
    const count = typeof t.values === "string" ? t.values.length + 1 : t.values.length;
    buf.writeUInt16LE(t.tag, e);
    buf.writeUInt16LE(t.type, e + 2);
    buf.writeUInt32LE(count, e + 4);
    const b = valueBytes(t);
    let target = e + 8;
    if (b > 4) {
      buf.writeUInt32LE(extra, e + 8);
      target = extra;
      extra += b + (b % 2);
    }
    if (typeof t.values === "string") {
      buf.write(t.values, target, "latin1");
      buf.writeUInt8(0, target + t.values.length);
    } else {
      t.values.forEach((v, k) => {
        if (t.type === 3) buf.writeUInt16LE(v, target + 2 * k);
        else if (t.type === 4) buf.writeUInt32LE(v, target + 4 * k);
        else buf.writeDoubleLE(v, target + 8 * k);
      });
    }
  });
  buf.writeUInt32LE(next, at + 2 + 12 * tags.length);
}

export function writeCog(file: string, spec: CogSpec): void {
  const { width, height } = spec;
  if (!spec.bands.length) throw new SmapfillError("has no band to write", { file });
  const float = spec.bands[0]!.values instanceof Float32Array;
  for (const b of spec.bands)
    if (b.values.length !== width * height || b.values instanceof Float32Array !== float)
      throw new SmapfillError(`band '${b.description}' has ${b.values.length} values of another type or count than ${width} x ${height}`, { file });
  const tile = spec.tileSize ?? 256;
  const nodata = spec.nodata ?? 0;
  // Levels: the full image, then halves until one tile holds the whole image.
  const levels: Level[] = [{ width, height, bands: spec.bands.map((b) => b.values) }];
  while (Math.max(levels.at(-1)!.width, levels.at(-1)!.height) > tile) levels.push(halve(levels.at(-1)!, float, nodata));
  const compressed = levels.map((l) => l.bands.map((b) => tiles(b, l.width, l.height, tile, nodata, spec.deflateLevel ?? 6)));
  const tagSets = levels.map((l, i) => levelTags(spec, l, i > 0, float, compressed[i]!.flat().length));
  // IFDs first (main, then overviews by decreasing size), then data from the smallest level up.
  const ifdAt: number[] = [];
  let at = 8;
  for (const tags of tagSets) {
    ifdAt.push(at);
    at += ifdSize(tags);
    at += at % 2;
  }
  for (let i = levels.length - 1; i >= 0; i--) {
    const offsets = tagSets[i]!.find((t) => t.tag === 324)!.values as number[];
    const counts = tagSets[i]!.find((t) => t.tag === 325)!.values as number[];
    compressed[i]!.flat().forEach((b, k) => {
      offsets[k] = at;
      counts[k] = b.length;
      at += b.length;
    });
  }
  if (at > 0xffffffff) throw new SmapfillError("would exceed 4 GB (classic TIFF)", { file, hint: "Write fewer bands per file" });
  const buf = Buffer.alloc(at);
  buf.write("II", 0, "latin1");
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  tagSets.forEach((tags, i) => writeIfd(buf, ifdAt[i]!, tags, i + 1 < tagSets.length ? ifdAt[i + 1]! : 0));
  for (let i = levels.length - 1; i >= 0; i--) {
    const offsets = tagSets[i]!.find((t) => t.tag === 324)!.values as number[];
    compressed[i]!.flat().forEach((b, k) => b.copy(buf, offsets[k]!));
  }
  writeFileAtomic(file, buf);
}
