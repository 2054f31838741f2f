/**
 * What `smapfill report` reads: run folders given on the command line, each told apart by its
 * files: an evaluation folder (evaluation.json, figure-data.json), a product (a Zarr store with
 * soil_moisture_source, or the reconstruct output folder holding product.zarr), or a folder
 * holding those (the demo's output). The study cube comes from the evaluation's config or the
 * product's source attribute, when it is still where they say.
 */
import fs from "node:fs";
import path from "node:path";
import { Cube } from "../cube/cube.js";
import type { EvaluationResult } from "../eval/experiment.js";
import { readAssessment, type ProductAssessment } from "../reconstruct/assessment.js";
import { productCoverage, type CoverageSummary } from "../reconstruct/coverage.js";
import { productAtStations, type ProductAtStations } from "../reconstruct/product-stations.js";
import { readInsituSettings } from "../reconstruct/insitu-assessment.js";
import { SmapfillError } from "../util/errors.js";
import { readFigureData, type SavedFigureData } from "./figure-data.js";

export interface EvaluationRun {
  dir: string;
  result: EvaluationResult;
  figures?: SavedFigureData;
}

export interface ProductRun {
  path: string;
  product: Cube;
  coverage: CoverageSummary;
  /** The product folder's assessment (assessment.json), where something scored the product. */
  assessment?: ProductAssessment;
  /** The product folder's product.json (the run, its warnings). */
  summary?: { report?: { warnings?: string[]; pixelDays?: { notFilled: number; frozenFilled?: number; frozenMasked?: number } }; command?: string };
  /** The product model's own record (fit.json): its scores on held-out calibration gaps. */
  fit?: ProductModelFit;
  /** The product at the ISMN stations inside it, where an ISMN download was at hand. */
  atStations?: ProductAtStations;
}

export interface ProductModelFit {
  calibration_metrics?: Record<string, { value: number; ciLow: number; ciHigh: number } | number>;
  calibration_coverage?: { group: string; n: number; coverage90: number; meanSigma: number; rmse: number }[];
  rows?: Record<string, number>;
}

export interface ReportInputs {
  evaluation?: EvaluationRun;
  product?: ProductRun;
  /** The study's input cube, where it could be opened. */
  cube?: Cube;
  /** Problems met while reading (a cube moved away, ...), shown in the report. */
  notes: string[];
}

const isEvaluation = (dir: string) => fs.existsSync(path.join(dir, "evaluation.json"));
const isZarr = (dir: string) => fs.existsSync(path.join(dir, "zarr.json"));

/** The run folders found at or directly under `dir`. */
function findRuns(dir: string): { evaluations: string[]; products: string[] } {
  const evaluations: string[] = [];
  const products: string[] = [];
  const visit = (d: string, depth: number) => {
    if (isEvaluation(d)) return void evaluations.push(d);
    if (isZarr(d)) {
      const meta = JSON.parse(fs.readFileSync(path.join(d, "zarr.json"), "utf8")) as { attributes?: Record<string, unknown> };
      if (meta.attributes?.model !== undefined || fs.existsSync(path.join(d, "soil_moisture_source"))) products.push(d);
      return;
    }
    if (depth === 0) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)))
      if (e.isDirectory()) visit(path.join(d, e.name), depth - 1);
  };
  visit(dir, 2);
  return { evaluations, products };
}

/** What a product folder holds besides the store: its assessment, product.json and the model's fit.json. */
function productFolderFiles(store: string, product: Cube, notes: string[]): Pick<ProductRun, "assessment" | "summary" | "fit"> {
  const dir = path.basename(store) === "product.zarr" ? path.dirname(store) : store;
  const json = <T>(file: string): T | undefined => {
    if (!fs.existsSync(file)) return undefined;
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as T;
    } catch (e) {
      notes.push(`${file} could not be read (${(e as Error).message}): left out`);
      return undefined;
    }
  };
  const modelDir = product.attributes.model_dir ? path.resolve(store, String(product.attributes.model_dir)) : "";
  return {
    assessment: readAssessment(dir),
    summary: json(path.join(dir, "product.json")),
    fit: modelDir ? json<ProductModelFit>(path.join(modelDir, "fit.json")) : undefined,
  };
}

export async function loadReportInputs(dirs: string[], o: { ismn?: string } = {}): Promise<ReportInputs> {
  const evaluations: string[] = [];
  const products: string[] = [];
  for (const d of dirs) {
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory())
      throw new SmapfillError("no such run folder", {
        file: d,
        hint: "Give an evaluation folder (smapfill evaluate --out) or a product (smapfill reconstruct --out)",
      });
    const found = findRuns(path.resolve(d));
    if (!found.evaluations.length && !found.products.length)
      throw new SmapfillError("neither an evaluation (evaluation.json) nor a product (a Zarr store with soil_moisture_source) is in this folder", {
        file: d,
        hint: "Give the folder smapfill evaluate or smapfill reconstruct wrote",
      });
    evaluations.push(...found.evaluations);
    products.push(...found.products);
  }
  if (evaluations.length > 1 || products.length > 1)
    throw new SmapfillError(`a report shows one evaluation and one product; found ${evaluations.length} and ${products.length}`, {
      file: [...evaluations, ...products].join(", "),
      hint: "Give one folder of each (make one report per run)",
    });
  const notes: string[] = [];
  const inputs: ReportInputs = { notes };
  if (evaluations[0]) {
    const dir = evaluations[0];
    const result = JSON.parse(fs.readFileSync(path.join(dir, "evaluation.json"), "utf8")) as EvaluationResult;
    const figures = readFigureData(dir);
    if (!figures) notes.push(`${dir} has no figure-data.json (written by smapfill evaluate since 0.1): the density plots and station series are left out`);
    inputs.evaluation = { dir, result, figures };
  }
  if (products[0]) {
    const product = await Cube.open(products[0]);
    if (!product.hasVariable("soil_moisture_source"))
      throw new SmapfillError("this Zarr store is a cube, not a product (no soil_moisture_source)", {
        file: products[0],
        hint: "Run smapfill reconstruct on it first",
      });
    // Recorded relative to the product's store (a moved folder keeps its links), absolute before.
    const sourcePath = product.attributes.product_source_cube ? path.resolve(products[0], String(product.attributes.product_source_cube)) : "";
    // The product's input cube, opened once: its land cover for the coverage, and the study
    // cube too when the evaluation names the same one (or there is no evaluation).
    const source = await openCube(sourcePath, notes);
    inputs.product = { path: products[0], product, coverage: await productCoverage(product, source), ...productFolderFiles(products[0], product, notes) };
    // The product at the stations: the ISMN download of the evaluation (or given to the report).
    // The ISMN download given to the report, else the one the product was scored with (reconstruct --ismn), else the evaluation's.
    const ev = inputs.evaluation?.result.config;
    const recorded = readInsituSettings(path.basename(products[0]) === "product.zarr" ? path.dirname(products[0]) : products[0]);
    const ismn = o.ismn ?? recorded?.ismn ?? ev?.ismn;
    const selection = !o.ismn && recorded ? recorded : { flags: ev?.ismnFlags, maxDepth: ev?.ismnMaxDepth };
    if (ismn) {
      try {
        inputs.product.atStations = await productAtStations(product, ismn, selection);
      } catch (e) {
        notes.push(`the ISMN stations in ${ismn} could not be read (${(e as Error).message.split("\n")[0]}): the product's in-situ scores are left out`);
      }
    }
    const evaluated = inputs.evaluation?.result.cube.path;
    if (!evaluated || path.resolve(evaluated) === path.resolve(sourcePath)) {
      inputs.cube = source;
      return inputs;
    }
  }
  const cubePath = inputs.evaluation?.result.cube.path;
  if (cubePath) inputs.cube = await openCube(cubePath, notes);
  return inputs;
}

async function openCube(file: string, notes: string[]): Promise<Cube | undefined> {
  if (!file) return undefined;
  try {
    return await Cube.open(file);
  } catch (e) {
    notes.push(`the study cube ${file} could not be opened (${(e as Error).message.split("\n")[0]}): its map and predictor coverage are left out`);
    return undefined;
  }
}
