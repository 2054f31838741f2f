/**
 * Everything a product folder holds besides the Zarr v3 working store, written the same way by
 * `smapfill reconstruct` and the demo: the exports asked for (rewritten when the run changed the
 * product), coverage before and after, quick-look PNGs, `product.json` (the run, the coverage,
 * the outputs), a `README.txt` saying which file opens where, and a STAC catalog in `stac/`.
 */
import fs from "node:fs";
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import { commandLine, exportCube, exportPaths, type ExportFormat } from "../cube/export.js";
import { modelLabel } from "../models/registry.js";
import { productCoverage, type CoverageSummary } from "../reconstruct/coverage.js";
import type { ReconstructReport } from "../reconstruct/reconstruct.js";
import { SOURCE_FLAG_COLORS, SOURCE_FLAG_STYLE } from "../reconstruct/source-flag-style.js";
import { runInfo } from "../util/run-info.js";
import { writeProductQuicklooks } from "./quicklooks.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import { writeStacCatalog } from "./stac.js";

export const PRODUCT_SUMMARY_FILE = "product.json";

export interface ProductFolderOptions {
  /** The product folder (reconstruct --out); its Zarr v3 store is `product.zarr` inside. */
  out: string;
  product: Cube;
  /** The input cube (its land cover gives the coverage per class). */
  cube: Cube;
  model: string;
  formats: readonly ExportFormat[];
  /** The reconstruction's report (counts, warnings); exports are rewritten when it made tiles. */
  report: ReconstructReport;
}

export interface ProductFolder {
  written: string[];
  coverage: CoverageSummary;
}

/** The product model's scores on its held-out calibration gaps (fit.json), flattened for display. */
export function productModelScores(modelDir: string): Record<string, number> {
  const file = path.join(modelDir, "fit.json");
  if (!fs.existsSync(file)) return {};
  const fit = JSON.parse(fs.readFileSync(file, "utf8")) as {
    calibration_metrics?: Record<string, { value: number } | number>;
    calibration_coverage?: { group: string; coverage90: number }[];
  };
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(fit.calibration_metrics ?? {})) out[`calibration_gaps_${k}`] = typeof v === "number" ? v : v.value;
  const all = fit.calibration_coverage?.find((r) => r.group === "all");
  if (all) out.calibration_gaps_inside_90_interval = all.coverage90;
  return out;
}

export async function writeProductFolder(o: ProductFolderOptions): Promise<ProductFolder> {
  const { out, product } = o;
  const store = path.join(out, "product.zarr");
  const modelName = String(product.attributes.model ?? "");
  const extra = { product_model: modelLabel(modelName) };
  // The exports are derived from the product: written again when this run changed it, kept when it did not.
  const paths = exportPaths(out, "product");
  for (const f of o.formats) if (o.report.madeTiles > 0) fs.rmSync(paths[f], { recursive: true, force: true });
  const missing = o.formats.filter((f) => !fs.existsSync(paths[f]));
  await exportCube(product, out, "product", missing, extra, SOURCE_FLAG_COLORS);
  const exported = o.formats.map((f) => paths[f]);
  const coverage = await productCoverage(product, o.cube);
  const quicklooks = await writeProductQuicklooks(out, product.grid, product.window, coverage);
  const summaryFile = path.join(out, PRODUCT_SUMMARY_FILE);
  const readme = path.join(out, "README.txt");
  const summary = {
    run: runInfo(),
    command: commandLine(),
    cube: path.resolve(o.cube.path),
    model: path.resolve(o.model),
    report: o.report,
    coverage: { ...coverage, perPixel: undefined, meanUncertainty: undefined },
    outputs: [store, ...exported, ...quicklooks, readme, path.join(out, "stac", "collection.json")],
  };
  writeFileAtomic(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  writeFileAtomic(readme, productReadme(product, o.formats, coverage));
  const cogs = paths.cog && fs.existsSync(paths.cog) ? fs.readdirSync(paths.cog).filter((f) => f.endsWith(".tif")) : [];
  const stac = writeStacCatalog({
    dir: out,
    product,
    files: {
      netcdf: fs.existsSync(paths.netcdf) ? paths.netcdf : undefined,
      zarr2: fs.existsSync(paths.zarr2) ? paths.zarr2 : undefined,
      cog: cogs.map((f) => path.join(paths.cog, f)),
      quicklooks,
    },
    model: { name: modelName, label: modelLabel(modelName), scores: productModelScores(o.model) },
  });
  return { written: [store, ...exported, ...quicklooks, summaryFile, readme, ...stac.slice(-1)], coverage };
}

/** The folder's README.txt: what each file is and which tool opens it. */
export function productReadme(product: Cube, formats: readonly ExportFormat[], c: CoverageSummary): string {
  const has = (f: ExportFormat) => formats.includes(f);
  const lines = [
    `${String(product.attributes.title ?? "smapfill gap-free SMAP surface soil moisture")}`,
    `${product.start} + ${product.days} days, ${product.window.nrows} x ${product.window.ncols} cells of the ${product.grid.name} grid (EPSG:6933).`,
    `Land pixel-days with a value: ${(100 * c.overall.before).toFixed(1)} % in SMAP, ${(100 * c.overall.after).toFixed(1)} % in this product.`,
    "",
    "Files",
    ...(has("netcdf")
      ? [
          "  product.nc           NetCDF-4, CF-1.9: the whole product in one file.",
          "                       QGIS/GDAL: NETCDF:product.nc:soil_moisture (EPSG:6933); xarray.open_dataset; Panoply.",
        ]
      : []),
    ...(has("cog")
      ? [
          "  product_cog/         Cloud-Optimised GeoTIFFs, one per variable and month, a band per day (its date).",
          "                       QGIS, GDAL, rasterio. The *_source files come with a colour table (.aux.xml).",
        ]
      : []),
    ...(has("zarr2")
      ? [
          "  product_v2.zarr/     Zarr v2 with consolidated metadata: xarray.open_zarr with zarr-python 2,",
          '                       GDAL >= 3.4: ZARR:"product_v2.zarr":/soil_moisture:DAY (DAY = 0 for the first day).',
        ]
      : []),
    "  product.zarr/        Zarr v3, the working store (resumable): zarr-python >= 3, zarrita, GDAL >= 3.8,",
    "                       smapfill serve, smapfill report, smapfill inspect.",
    "  stac/                a STAC catalog (collection.json and an item per month) for catalogue tools.",
    "  product.json         the run: command, versions, counts, coverage per day and class, outputs.",
    "  *.png                quick-looks: coverage before and after, mean uncertainty, daily coverage.",
    "  assessment.json,     how good the product is, when something scored it: against in situ on the days",
    "  report.md            SMAP missed (reconstruct --ismn; per station in insitu.json), the demo's truth.",
    "",
    "Variables",
    "  soil_moisture              m3 m-3, SMAP where valid, the model elsewhere",
    "  soil_moisture_uncertainty  m3 m-3, one standard deviation of a reconstructed value (none where SMAP observed)",
    "  soil_moisture_source       where each value comes from:",
    ...SOURCE_FLAG_STYLE.map((f) => `                               ${f.value} ${f.name}: ${f.label}`),
    ...(product.hasVariable("soil_moisture_model") ? ["  soil_moisture_model        m3 m-3, the model's value on every land pixel-day (--everywhere)"] : []),
    "",
    "Made by smapfill; the command, versions and inputs are in product.json and in each file's history.",
    "",
  ];
  return lines.join("\n");
}
