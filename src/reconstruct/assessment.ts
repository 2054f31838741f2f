/**
 * A product's assessment: scores of the product against some reference, kept in the product
 * folder as `assessment.json` so that the report shows them in its first section. Anything that
 * can judge a product adds a section (by id; a section with the same id is replaced): the demo
 * scores against its synthetic truth, and the scores against in situ on gap days and by missing
 * reason slot in the same way. The report renders every section as one table, in file order.
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../util/atomic-file.js";
import { SmapfillError } from "../util/errors.js";

export const ASSESSMENT_FILE = "assessment.json";

export interface AssessmentRow {
  /** What the row scores, e.g. "reconstructed values", "frozen ground", "SMAP on its observed days". */
  label: string;
  n: number;
  rmse: number;
  ubrmse?: number;
  bias?: number;
  r?: number;
  /** Pearson R of the departures from a 35-day moving average (eval/anomaly.ts). */
  anomalyR?: number;
  /** Share of the reference inside the 90 % interval (+-1.645 sigma), where the row has uncertainties. */
  inside90?: number;
}

export interface AssessmentSection {
  id: string;
  title: string;
  /** What the values are compared with: "synthetic truth", "in situ", "hidden SMAP", ... */
  reference: string;
  /** What a row's n counts (default "pixel-days"; "station-days" against in situ). */
  countLabel?: string;
  /** One or two sentences: how the scores were made, and what to read from them. */
  description: string;
  rows: AssessmentRow[];
}

export interface ProductAssessment {
  version: 1;
  sections: AssessmentSection[];
}

/** The assessment of a product folder, or undefined when nothing has assessed it. */
export function readAssessment(productDir: string): ProductAssessment | undefined {
  const file = path.join(productDir, ASSESSMENT_FILE);
  if (!fs.existsSync(file)) return undefined;
  const a = JSON.parse(fs.readFileSync(file, "utf8")) as ProductAssessment;
  if (a.version !== 1 || !Array.isArray(a.sections))
    throw new SmapfillError("not an assessment of this smapfill version", { file, hint: "Remove it, or write it again with this version" });
  return a;
}

/** Adds (or replaces, by id) a section of a product folder's assessment. */
export function addAssessmentSection(productDir: string, section: AssessmentSection): void {
  const a = readAssessment(productDir) ?? { version: 1, sections: [] };
  const sections = [...a.sections.filter((s) => s.id !== section.id), section];
  const file = path.join(productDir, ASSESSMENT_FILE);
  writeFileAtomic(file, `${JSON.stringify({ version: 1, sections }, null, 2)}\n`);
}
