/**
 * ISMN (International Soil Moisture Network) downloads, in every format ISMN has shipped:
 *
 *  - "header+values" (.stm): a header line "CSE NETWORK STATION lat lon elevation depth_from
 *    depth_to sensor", then "YYYY/MM/DD HH:MM value ismn_flag provider_flag" records;
 *  - "CEOP separate files" (.stm): every record "nominal_date time actual_date time CSE NETWORK
 *    STATION lat lon elevation depth_from depth_to value ismn_flag provider_flag";
 *  - "CEOP" (one file per station, all depths): "date time date time CSE NETWORK STATION lat lon
 *    elevation - depth soil_temperature flag soil_moisture flag", -999.99 = missing;
 *  - whole download folders and zip archives of them, and the *_static_variables.csv files.
 *
 * The variable and depths of separate files come from the file name
 * (CSE_Network_Station_Variable_depthfrom_depthto_[sensor_]start_end.stm). Line endings CR, LF
 * and CRLF all occur (old downloads use CR only). Missing values: -9999, -999.99, -0.99 (old
 * scheme) and the flag M. Times are UTC.
 */
import fs from "node:fs";
import path from "node:path";
import { unzipSync } from "fflate";
import { SmapfillError, messageOf } from "../util/errors.js";

export interface IsmnSeries {
  file: string;
  network: string;
  station: string;
  lat: number;
  lon: number;
  elevation: number;
  depthFrom: number;
  depthTo: number;
  sensor: string;
  /** soil_moisture, soil_temperature, or the ISMN short name from the file name. */
  variable: string;
  /** Epoch milliseconds (UTC). */
  times: Float64Array;
  values: Float32Array;
  /** ISMN quality flag of each value (G, D01, C03, U, M, ...). */
  flags: string[];
  /** After selectSeries: values dropped as physically impossible (soil moisture outside [0, 0.8]). */
  implausible?: number;
}

export interface IsmnSelection {
  /** Variable to keep (default soil_moisture). */
  variable?: string;
  /** ISMN flags whose values are kept (default only "G", good); others become NaN. */
  flags?: string[];
  /** Keep sensors whose lower depth is at most this (m). Default 0.06: the 0-5 cm layer,
   * including the 5.08 cm (2 inch) sensors of US networks such as SCAN. */
  maxDepth?: number;
}

export interface StaticVariable {
  quantity: string;
  unit: string;
  depthFrom: number;
  depthTo: number;
  value: string;
  source: string;
}

const MISSING = new Set([-9999, -999.99, -0.99]);
const VARIABLES: Record<string, string> = {
  sm: "soil_moisture",
  "soil-moisture": "soil_moisture",
  ts: "soil_temperature",
  "soil-temperature": "soil_temperature",
};
const NAME = /^(.+?)_(.+?)_(.+?)_([A-Za-z-]+)_(-?\d+\.\d+)_(-?\d+\.\d+)_(?:(.+)_)?(\d{8})_(\d{8})\.stm$/i;

/** A record's value, NaN when it is a missing-value code or flagged M. */
function cleanValue(token: string | undefined, flag: string | undefined): number {
  const v = Number(token);
  return MISSING.has(v) || flag === "M" || !Number.isFinite(v) ? NaN : v;
}

/** A record's UTC time; an impossible date or time (2019/13/05, 25:00) is refused, never rolled over into another day. */
function parseTime(date: string, time: string, file: string, line: number): number {
  const [y, mo, d] = date.split("/").map(Number);
  const [h, mi] = (time ?? "").split(":").map(Number);
  const t = Date.UTC(y!, mo! - 1, d!, h!, mi!);
  const back = new Date(t);
  const valid =
    [y, mo, d, h, mi].every((v) => Number.isInteger(v)) &&
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo! - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi;
  if (!valid)
    throw new SmapfillError(`line ${line}: '${date} ${time}' is not a valid date and time`, {
      file,
      hint: "ISMN writes YYYY/MM/DD HH:MM; the file is damaged or was edited: download it again",
    });
  return t;
}

function lines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== "");
}

function num(token: string | undefined, file: string, what: string): number {
  const v = Number(token);
  if (token === undefined || !Number.isFinite(v))
    throw new SmapfillError(`cannot read ${what} ('${token}')`, { file, hint: "The file does not follow an ISMN format" });
  return v;
}

function finishSeries(s: Omit<IsmnSeries, "times" | "values"> & { times: number[]; values: number[] }): IsmnSeries {
  return { ...s, times: Float64Array.from(s.times), values: Float32Array.from(s.values) };
}

/** Parses one ISMN data file's text; `name` is its file name (it carries variable and depths). */
export function parseIsmnText(name: string, text: string): IsmnSeries[] {
  const all = lines(text);
  if (all.length === 0) throw new SmapfillError("is empty", { file: name });
  const first = all[0]!.trim().split(/\s+/);
  const fromName = NAME.exec(path.basename(name));
  // Header+values: the first line has no date; the records start with a date and a time.
  if (!/^\d{4}\/\d{2}\/\d{2}$/.test(first[0]!)) {
    if (first.length < 8)
      throw new SmapfillError("has a header line ISMN does not write", {
        file: name,
        hint: "Expected 'CSE NETWORK STATION lat lon elevation depth_from depth_to sensor'",
      });
    const series = {
      file: name,
      network: first[1]!,
      station: first[2]!,
      lat: num(first[3], name, "the latitude"),
      lon: num(first[4], name, "the longitude"),
      elevation: num(first[5], name, "the elevation"),
      depthFrom: num(first[6], name, "depth_from"),
      depthTo: num(first[7], name, "depth_to"),
      sensor: first.slice(8).join(" "),
      variable: fromName ? (VARIABLES[fromName[4]!.toLowerCase()] ?? fromName[4]!) : "soil_moisture",
      times: [] as number[],
      values: [] as number[],
      flags: [] as string[],
    };
    for (let i = 1; i < all.length; i++) {
      const t = all[i]!.trim().split(/\s+/);
      if (t.length < 4 || !/^\d{4}\/\d{2}\/\d{2}$/.test(t[0]!)) throw new SmapfillError(`line ${i + 1} is not 'date time value flag'`, { file: name });
      series.times.push(parseTime(t[0]!, t[1]!, name, i + 1));
      series.values.push(cleanValue(t[2], t[3]));
      series.flags.push(t[3]!);
    }
    return [finishSeries(series)];
  }
  // CEOP layouts: records with nominal and actual date/time, then the station fields.
  if (first.length < 13) throw new SmapfillError("has records ISMN does not write", { file: name });
  const combined = first[10] === "-";
  const base = (t: string[]) => ({
    file: name,
    network: t[5]!,
    station: t[6]!,
    lat: num(t[7], name, "the latitude"),
    lon: num(t[8], name, "the longitude"),
    elevation: num(t[9], name, "the elevation"),
  });
  if (!combined) {
    const meta = base(first);
    const series = {
      ...meta,
      depthFrom: num(first[10], name, "depth_from"),
      depthTo: num(first[11], name, "depth_to"),
      sensor: fromName?.[7] ?? "",
      variable: fromName ? (VARIABLES[fromName[4]!.toLowerCase()] ?? fromName[4]!) : "soil_moisture",
      times: [] as number[],
      values: [] as number[],
      flags: [] as string[],
    };
    for (const [i, line] of all.entries()) {
      const t = line.trim().split(/\s+/);
      if (t.length < 14) throw new SmapfillError(`line ${i + 1} has ${t.length} fields, CEOP records have 14 or more`, { file: name });
      series.times.push(parseTime(t[2]!, t[3]!, name, i + 1));
      series.values.push(cleanValue(t[12], t[13]));
      series.flags.push(t[13]!);
    }
    return [finishSeries(series)];
  }
  // Combined CEOP: one series per (depth, variable).
  const byKey = new Map<string, Omit<IsmnSeries, "times" | "values"> & { times: number[]; values: number[] }>();
  for (const [i, line] of all.entries()) {
    const t = line.trim().split(/\s+/);
    if (t.length < 16) throw new SmapfillError(`line ${i + 1} has ${t.length} fields, combined CEOP records have 16`, { file: name });
    const depth = num(t[11], name, "the depth");
    for (const [variable, vi, fi] of [
      ["soil_temperature", 12, 13],
      ["soil_moisture", 14, 15],
    ] as const) {
      const key = `${variable}@${depth}`;
      let s = byKey.get(key);
      if (!s) {
        s = { ...base(t), depthFrom: depth, depthTo: depth, sensor: "", variable, times: [], values: [], flags: [] };
        byKey.set(key, s);
      }
      s.times.push(parseTime(t[2]!, t[3]!, name, i + 1));
      s.values.push(cleanValue(t[vi], t[fi]));
      s.flags.push(t[fi]!);
    }
  }
  return [...byKey.values()].map(finishSeries);
}

/** The static variables CSV of a station (soil properties, land cover, climate class). */
export function parseStaticVariables(name: string, text: string): StaticVariable[] {
  const rows = lines(text);
  const header = rows[0]?.split(";").map((h) => h.trim()) ?? [];
  const col = (n: string) => header.findIndex((h) => h.startsWith(n));
  const [q, u, df, dt, v, src] = [col("quantity_name"), col("unit"), col("depth_from"), col("depth_to"), col("value"), col("quantity_source_name")];
  if (q < 0 || v < 0) throw new SmapfillError("is not an ISMN static variables file", { file: name });
  return rows.slice(1).map((r) => {
    const c = r.split(";");
    return { quantity: c[q]!, unit: c[u] ?? "", depthFrom: Number(c[df]), depthTo: Number(c[dt]), value: c[v] ?? "", source: c[src] ?? "" };
  });
}

/** Applies the selection: keeps the variable and depths, sets values with other flags to NaN. */
/** Volumetric soil moisture a sensor can report (m3/m3): outside it, a value is an error whatever its flag. */
export const PLAUSIBLE_SOIL_MOISTURE: [number, number] = [0, 0.8];

export function selectSeries(all: IsmnSeries[], selection: IsmnSelection = {}): IsmnSeries[] {
  const variable = selection.variable ?? "soil_moisture";
  const flags = new Set(selection.flags ?? ["G"]);
  const maxDepth = selection.maxDepth ?? 0.06;
  const [lo, hi] = PLAUSIBLE_SOIL_MOISTURE;
  return all
    .filter((s) => s.variable === variable && s.depthTo <= maxDepth + 1e-9)
    .map((s) => {
      let implausible = 0;
      const values = Float32Array.from(s.values, (v, i) => {
        if (!flags.has(s.flags[i]!)) return NaN;
        if (variable === "soil_moisture" && !Number.isNaN(v) && (v < lo || v > hi)) {
          implausible++;
          return NaN;
        }
        return v;
      });
      return { ...s, values, implausible };
    });
}

export interface IsmnReadResult {
  series: IsmnSeries[];
  staticVariables: Map<string, StaticVariable[]>;
  failures: { file: string; error: string }[];
}

/**
 * Reads a download: a folder (searched recursively) or a zip archive, or one file. Files that
 * cannot be parsed are reported and the rest are read.
 */
export function readIsmn(source: string, selection?: IsmnSelection): IsmnReadResult {
  if (!fs.existsSync(source)) throw new SmapfillError("not found", { file: source, hint: "Give an ISMN download folder, zip archive or .stm file" });
  const entries: { name: string; read: () => string }[] = [];
  const result: IsmnReadResult = { series: [], staticVariables: new Map(), failures: [] };
  // Folders by real path: a symbolic link back to a folder already read (a loop) is reported, not followed.
  const visited = new Set<string>();
  const collect = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      result.failures.push({
        file: p,
        error: code === "ELOOP" ? "is a symbolic link loop: skipped" : code === "ENOENT" ? "is a broken symbolic link: skipped" : messageOf(error),
      });
      return;
    }
    if (st.isDirectory()) {
      const real = fs.realpathSync(p);
      if (visited.has(real)) {
        result.failures.push({ file: p, error: `links back to ${real}, a folder already read (a symbolic link loop): skipped` });
        return;
      }
      visited.add(real);
      for (const e of fs.readdirSync(p).sort()) collect(path.join(p, e));
    } else if (/\.zip$/i.test(p)) {
      let files: Record<string, Uint8Array>;
      try {
        files = unzipSync(new Uint8Array(fs.readFileSync(p)));
      } catch (error) {
        result.failures.push({ file: p, error: `is a damaged or truncated zip archive (${messageOf(error)}): skipped; download it again` });
        return;
      }
      for (const [inner, bytes] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
        if (/\.(stm|csv)$/i.test(inner)) entries.push({ name: `${p}!${inner}`, read: () => new TextDecoder("latin1").decode(bytes) });
      }
    } else if (/\.(stm|csv)$/i.test(p) || p === source) {
      entries.push({ name: p, read: () => fs.readFileSync(p, "latin1") });
    }
  };
  collect(source);
  for (const e of entries) {
    try {
      if (/_static_variables\.csv$/i.test(e.name)) result.staticVariables.set(e.name, parseStaticVariables(e.name, e.read()));
      else if (/\.csv$/i.test(e.name))
        continue; // user metadata CSVs are not data
      else result.series.push(...parseIsmnText(e.name, e.read()));
    } catch (error) {
      result.failures.push({ file: e.name, error: messageOf(error) });
    }
  }
  if (selection) result.series = selectSeries(result.series, selection);
  return result;
}
