/**
 * The dataset interchange format of ../shared/reference/DATASET.md, read and written here: a
 * folder with X.npy (float32 [N, F], NaN = missing, no +-inf), y.npy (float32 [N], never NaN),
 * split.npy (int8 [N]: 0 train, 1 validation, 2 test), pixel_day.npy (int32 [N, 2], ours),
 * role.npy (int8 [N], ours: the Role of features/roles.ts, which also tells calibration rows
 * apart; split.npy counts them as validation for the reference's readers) and features.json
 * ({names, groups, meta, schema}: the feature schema is ours, so that a model trained from the
 * folder carries it; folders without one get a schema of names and groups). Groups may be any
 * the sample layer writes (FEATURE_GROUPS), not only the reference's four.
 * Validated on read; written to temporary names and renamed.
 */
import fs from "node:fs";
import path from "node:path";
import { SmapfillError } from "../util/errors.js";
import { readNpy, writeNpy } from "../io/npy.js";
import { Role } from "./roles.js";
import type { RowSet } from "./row-draw.js";
import { bareSchema, FEATURE_GROUPS, parseSchema, type FeatureSchema } from "./schema.js";

export interface Dataset {
  X: Float32Array;
  y: Float32Array;
  split: Int8Array;
  /** Each row's Role (role.npy; from split.npy when the folder has none). */
  role: Int8Array;
  /** Each row's day index (pixel_day.npy, when the folder has it): CIs resample whole days. */
  day?: Int32Array;
  n: number;
  f: number;
  names: string[];
  groups: string[];
  schema: FeatureSchema;
}

export function readDataset(dir: string): Dataset {
  for (const f of ["X.npy", "y.npy", "split.npy", "features.json"]) {
    if (!fs.existsSync(path.join(dir, f)))
      throw new SmapfillError(`has no ${f}`, {
        file: dir,
        hint: "A dataset folder holds X.npy, y.npy, split.npy and features.json (see shared/reference/DATASET.md)",
      });
  }
  const X = readNpy(path.join(dir, "X.npy"));
  const y = readNpy(path.join(dir, "y.npy"));
  const split = readNpy(path.join(dir, "split.npy"));
  const file = (f: string) => path.join(dir, f);
  if (!(X.data instanceof Float32Array) || X.shape.length !== 2) throw new SmapfillError("must be float32 [N, F]", { file: file("X.npy") });
  if (!(y.data instanceof Float32Array) || y.shape.length !== 1) throw new SmapfillError("must be float32 [N]", { file: file("y.npy") });
  if (!(split.data instanceof Int8Array) || split.shape.length !== 1) throw new SmapfillError("must be int8 [N]", { file: file("split.npy") });
  const [n, f] = X.shape as [number, number];
  if (y.shape[0] !== n || split.shape[0] !== n) throw new SmapfillError(`X has ${n} rows, y ${y.shape[0]}, split ${split.shape[0]}`, { file: dir });
  const bad = (y.data as Float32Array).findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new SmapfillError(`target ${bad} is ${(y.data as Float32Array)[bad]}`, { file: file("y.npy"), hint: "Targets must be finite; drop those rows" });
  if ((X.data as Float32Array).some((v) => v === Infinity || v === -Infinity))
    throw new SmapfillError("holds +-inf", { file: file("X.npy"), hint: "Use NaN for missing values" });
  if ((split.data as Int8Array).some((v) => v < 0 || v > 2)) throw new SmapfillError("holds values other than 0, 1, 2", { file: file("split.npy") });
  let meta: { names?: unknown; groups?: unknown; schema?: unknown };
  try {
    meta = JSON.parse(fs.readFileSync(file("features.json"), "utf8"));
  } catch (error) {
    throw new SmapfillError("is not valid JSON", { file: file("features.json"), cause: error });
  }
  const names = meta.names as string[];
  const groups = meta.groups as string[];
  if (!Array.isArray(names) || names.length !== f || new Set(names).size !== f)
    throw new SmapfillError(`needs ${f} unique names`, { file: file("features.json") });
  if (!Array.isArray(groups) || groups.length !== f || groups.some((g) => !(FEATURE_GROUPS as readonly string[]).includes(g))) {
    throw new SmapfillError(`needs ${f} groups from ${FEATURE_GROUPS.join(", ")}`, { file: file("features.json") });
  }
  const schema = meta.schema === undefined ? bareSchema(names, groups) : parseSchema(meta.schema, file("features.json"));
  if (schema.names.join("\u0000") !== names.join("\u0000"))
    throw new SmapfillError("has a schema whose feature names differ from its names", { file: file("features.json") });
  const splits = split.data as Int8Array;
  let role: Int8Array = new Int8Array(splits.length);
  for (let i = 0; i < splits.length; i++) role[i] = splits[i] === 0 ? Role.Train : splits[i] === 1 ? Role.Validation : Role.Test;
  if (fs.existsSync(file("role.npy"))) {
    const r = readNpy(file("role.npy"));
    if (!(r.data instanceof Int8Array) || r.shape.length !== 1 || r.shape[0] !== n) throw new SmapfillError(`must be int8 [${n}]`, { file: file("role.npy") });
    const bad = r.data.findIndex((v) => v !== Role.Train && v !== Role.Validation && v !== Role.Calibration && v !== Role.Test);
    if (bad >= 0)
      throw new SmapfillError(`row ${bad} has role ${r.data[bad]}`, { file: file("role.npy"), hint: "Roles are 0 train, 1 validation, 2 calibration, 3 test" });
    role = r.data;
  }
  let day: Int32Array | undefined;
  if (fs.existsSync(file("pixel_day.npy"))) {
    const pd = readNpy(file("pixel_day.npy"));
    if (!(pd.data instanceof Int32Array) || pd.shape[0] !== n || pd.shape[1] !== 2)
      throw new SmapfillError(`must be int32 [${n}, 2]`, { file: file("pixel_day.npy") });
    day = Int32Array.from({ length: n }, (_, i) => (pd.data as Int32Array)[2 * i + 1]!);
  }
  return { X: X.data as Float32Array, y: y.data as Float32Array, split: splits, role, ...(day ? { day } : {}), n, f, names, groups, schema };
}

/** The rows of one role, in their original order (with their days when the folder has them). */
export function part(d: Dataset, role: Role): { X: Float32Array; y: Float32Array; n: number; day?: Int32Array } {
  const rows: number[] = [];
  for (let i = 0; i < d.n; i++) if (d.role[i] === role) rows.push(i);
  const X = new Float32Array(rows.length * d.f);
  rows.forEach((r, i) => X.set(d.X.subarray(r * d.f, (r + 1) * d.f), i * d.f));
  const day = d.day;
  return { X, y: Float32Array.from(rows, (r) => d.y[r]!), n: rows.length, ...(day ? { day: Int32Array.from(rows, (r) => day[r]!) } : {}) };
}

/** The reference's split code of a role: calibration rows count as validation there. */
const splitCode = (role: number) => (role === Role.Train ? 0 : role === Role.Test ? 2 : 1);

/** Writes X.npy, y.npy, split.npy, role.npy, pixel_day.npy and features.json into `directory`. */
export function writeDataset(directory: string, d: RowSet, roles: Int8Array, schema: FeatureSchema, meta: Record<string, unknown> = {}): void {
  fs.mkdirSync(directory, { recursive: true });
  const N = d.n;
  writeNpy(path.join(directory, "X.npy"), d.X, [N, schema.names.length]);
  writeNpy(path.join(directory, "y.npy"), d.y, [N]);
  writeNpy(path.join(directory, "split.npy"), Int8Array.from(roles, splitCode), [N]);
  writeNpy(path.join(directory, "role.npy"), roles, [N]);
  const pd = new Int32Array(N * 2);
  for (let i = 0; i < N; i++) {
    pd[2 * i] = d.pixel[i]!;
    pd[2 * i + 1] = d.day[i]!;
  }
  writeNpy(path.join(directory, "pixel_day.npy"), pd, [N, 2]);
  const json = path.join(directory, "features.json");
  fs.writeFileSync(`${json}.tmp`, JSON.stringify({ names: schema.names, groups: schema.groups, meta, schema }, null, 2));
  fs.renameSync(`${json}.tmp`, json);
}
