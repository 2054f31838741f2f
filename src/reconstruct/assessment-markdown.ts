/**
 * A product's assessment as Markdown (the product folder's report.md): one table per section, the
 * same rows and columns the HTML report's product section shows.
 */
import path from "node:path";
import { writeFileAtomic } from "../util/atomic-file.js";
import { readAssessment, type AssessmentRow, type AssessmentSection, type ProductAssessment } from "./assessment.js";

export const ASSESSMENT_MARKDOWN = "report.md";

const num = (v: number | undefined, digits: number) => (v === undefined ? "" : Number.isFinite(v) ? v.toFixed(digits) : "-");

function sectionMarkdown(s: AssessmentSection): string {
  const has = (k: "ubrmse" | "bias" | "r" | "anomalyR" | "inside90") => s.rows.some((r) => r[k] !== undefined);
  type Column = [string, (r: AssessmentRow) => string];
  const columns: Column[] = [
    ["", (r) => r.label.replace(/^ +/, (m) => "&nbsp;".repeat(2 * m.length))],
    [s.countLabel ?? "pixel-days", (r) => String(r.n)],
    ["RMSE", (r) => num(r.rmse, 4)],
  ];
  if (has("ubrmse")) columns.push(["ubRMSE", (r) => num(r.ubrmse, 4)]);
  if (has("bias")) columns.push(["bias", (r) => num(r.bias, 4)]);
  if (has("r")) columns.push(["R", (r) => num(r.r, 3)]);
  if (has("anomalyR")) columns.push(["anomaly R", (r) => num(r.anomalyR, 3)]);
  if (has("inside90")) columns.push([`${s.reference} inside the 90 % interval`, (r) => (r.inside90 === undefined ? "" : `${(100 * r.inside90).toFixed(1)} %`)]);
  return [
    `## ${s.title} (m3/m3)`,
    "",
    s.description,
    "",
    `| ${columns.map((c) => c[0]).join(" | ")} |`,
    `|${columns.map(() => "---").join("|")}|`,
    ...s.rows.map((r) => `| ${columns.map((c) => c[1](r)).join(" | ")} |`),
    "",
  ].join("\n");
}

export function assessmentMarkdown(a: ProductAssessment): string {
  return ["# How good is the product", "", ...a.sections.map(sectionMarkdown)].join("\n");
}

/** Writes a product folder's assessment (every section so far) as its report.md. */
export function writeAssessmentMarkdown(productDir: string): void {
  const a = readAssessment(productDir);
  if (a) writeFileAtomic(path.join(productDir, ASSESSMENT_MARKDOWN), assessmentMarkdown(a));
}
