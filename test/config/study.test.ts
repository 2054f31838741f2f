import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { loadStudy, resolveFiles, studySchema } from "../../src/config/study.js";
import { expandGlob } from "../../src/config/glob.js";
import { REPO_ROOT, tempDir } from "../helpers.js";

const EXAMPLE = path.join(REPO_ROOT, "examples", "pakistan-2020-01.yaml");

function writeConfig(text: string, name = "study.yaml"): string {
  const dir = tempDir();
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const realDir = path.join(REPO_ROOT, "..", "shared", "data", "real");
const base = (extra = "") => `
name: t
region: { bbox: [25.0, 28.5, 67.0, 73.0] }
period: { start: 2020-01-01, end: 2020-01-31 }
output: out.zarr
smap: { granules: "${realDir}/pakistan_2020/SPL3SMP_E/*.h5" }
${extra}`;

test("the shipped Pakistan example loads, with defaults filled and globs resolved", () => {
  const study = loadStudy(EXAMPLE);
  assert.equal(study.name, "pakistan-2020-01");
  assert.equal(study.resolution, "9km");
  assert.equal(study.smap.quality, "recommended");
  assert.equal(study.predictors.length, 3);
  assert.equal(study.predictors[2]!.aggregation, "mean");
  assert.equal(resolveFiles(study, study.predictors[0]!).length, 1);
});

test("every config mistake is reported with its key and the fix, all at once", () => {
  const file = writeConfig(`${base()}
predictors:
  - { name: p, files: "${realDir}/pakistan_2020/era5_land/*.nc", variable: swvl1, kind: dynamic, aggregation: avg }
  - { name: 2bad, files: x.nc, variable: v, kind: sometimes }
colour: blue
`);
  assert.throws(
    () => loadStudy(file),
    (e: Error) =>
      e.message.startsWith(`${file}: invalid study config`) &&
      /predictors\[0\]\.aggregation: .*\(expected one of mean, sum, min, max, overpass_am, overpass_pm, latest\)/.test(e.message) &&
      /predictors\[1\]\.name: use letters, digits and _/.test(e.message) &&
      /predictors\[1\]\.kind: .*\(expected dynamic \(has a time axis\) or static\)/.test(e.message) &&
      /unknown key\(s\) 'colour'/.test(e.message),
  );
});

test("semantic checks: dates, box, files that match nothing, inconsistent options", () => {
  assert.throws(() => loadStudy(writeConfig(base().replace("end: 2020-01-31", "end: 2019-12-31"))), /period: end 2019-12-31 is before start 2020-01-01/);
  assert.throws(() => loadStudy(writeConfig(base().replace("end: 2020-01-31", "end: 2020-02-30"))), /period\.end: '2020-02-30' is not a calendar date/);
  assert.throws(() => loadStudy(writeConfig(base().replace("[25.0, 28.5, 67.0, 73.0]", "[28.5, 25.0, 67.0, 73.0]"))), /region\.bbox: south must be < north/);
  const extra = `predictors:
  - { name: rain, files: "nothing/*.nc", variable: tp, kind: dynamic, aggregation: mean, antecedent: [3] }
  - { name: lc, files: "${realDir}/predictors/era5/landmask_0.1_0.1.nc", variable: land, kind: static, resampling: fractions }
  - { name: soil_moisture_x, files: "${realDir}/predictors/era5/landmask_0.1_0.1.nc", variable: land, kind: static }`;
  assert.throws(
    () => loadStudy(writeConfig(base(extra))),
    (e: Error) =>
      /predictors\[0\]\.antecedent: antecedent sums need aggregation: sum/.test(e.message) &&
      /predictors\[0\]\.files: no file matches "nothing\/\*\.nc"/.test(e.message) &&
      /predictors\[1\]\.classes: resampling 'fractions' needs the list of class values/.test(e.message) &&
      /predictors\[2\]\.name: 'soil_moisture_x' is reserved/.test(e.message),
  );
  assert.throws(() => loadStudy(writeConfig("name: [unclosed")), /cannot parse/);
  assert.throws(() => loadStudy("/nonexistent/study.yaml"), /study\.yaml: config file not found/);
  // JSON works too.
  const json = writeConfig(
    JSON.stringify({
      name: "j",
      region: { window: { row0: 424, col0: 2646, nrows: 45, ncols: 64 } },
      period: { start: "2020-01-01", end: "2020-01-02" },
      output: "o.zarr",
      smap: { granules: "x/*.h5" },
    }),
    "s.json",
  );
  assert.equal(loadStudy(json).name, "j");
});

test("globs: * and ? in names, ** for any depth, sorted", () => {
  const dir = tempDir();
  for (const f of ["a/2020/x_01.nc", "a/2020/x_02.nc", "a/2021/x_10.nc", "a/readme.txt"]) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), "");
  }
  assert.deepEqual(
    expandGlob("a/2020/x_0?.nc", dir).map((f) => path.relative(dir, f)),
    ["a/2020/x_01.nc", "a/2020/x_02.nc"],
  );
  assert.deepEqual(
    expandGlob("a/*/x_*.nc", dir).map((f) => path.relative(dir, f)),
    ["a/2020/x_01.nc", "a/2020/x_02.nc", "a/2021/x_10.nc"],
  );
  assert.deepEqual(
    expandGlob("**/*.txt", dir).map((f) => path.relative(dir, f)),
    ["a/readme.txt"],
  );
  assert.deepEqual(expandGlob("a/none_*.nc", dir), []);
});

test("docs/ingestion.md documents every key of the study config", () => {
  // Walk the zod schema: objects, arrays, unions, tuples, defaults and optionals.
  const keys = new Set<string>();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const walk = (schema: any, prefix: string): void => {
    const def = schema?._def;
    if (!def) return;
    if (def.typeName === "ZodObject") {
      for (const [k, v] of Object.entries(schema.shape as Record<string, unknown>)) {
        const key = prefix ? `${prefix}.${k}` : k;
        keys.add(key);
        walk(v, key);
      }
    } else if (def.typeName === "ZodArray") walk(def.type, `${prefix}[]`);
    else if (def.typeName === "ZodUnion") for (const o of def.options) walk(o, prefix);
    else if (def.innerType) walk(def.innerType, prefix);
    else if (def.schema) walk(def.schema, prefix);
  };
  walk(studySchema, "");
  assert.ok(keys.size > 30, `${keys.size} keys`);
  const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "ingestion.md"), "utf8");
  const missing = [...keys].filter((k) => !doc.includes(`\`${k}\``));
  assert.deepEqual(missing, []);
});
