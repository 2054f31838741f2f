/**
 * A static STAC catalog (STAC 1.0.0) of a product folder, in `PRODUCT/stac/`: a Collection
 * (`collection.json`: extent, providers, licence, the datacube extension's dimensions and
 * variables, the projection, the model and its scores) and one Item per month
 * (`items/ID-YYYY-MM.json`) whose assets are that month's Cloud-Optimised GeoTIFFs; the NetCDF
 * and the Zarr stores, which span the whole period, are assets of the Collection. Every href is
 * relative, so the folder can move or be served as it is.
 */
import path from "node:path";
import type { Cube } from "../cube/cube.js";
import { windowTransform } from "../grid/zarr-conventions.js";
import { formatDay } from "../util/dates.js";
import { packageVersion } from "../util/run-info.js";
import { writeFileAtomic } from "./raster.js";

export const STAC_VERSION = "1.0.0";
export const DATACUBE_EXTENSION = "https://stac-extensions.github.io/datacube/v2.2.0/schema.json";
export const PROJECTION_EXTENSION = "https://stac-extensions.github.io/projection/v1.1.0/schema.json";

const MEDIA = {
  cog: "image/tiff; application=geotiff; profile=cloud-optimized",
  netcdf: "application/netcdf",
  zarr: "application/vnd+zarr",
  json: "application/json",
  png: "image/png",
  text: "text/plain",
  xml: "application/xml",
};

export interface StacInputs {
  /** The product folder (reconstruct --out). */
  dir: string;
  product: Cube;
  /** Files and folders in `dir` by role: the outputs that exist. */
  files: { netcdf?: string; zarr2?: string; cog?: string[]; quicklooks?: string[] };
  /** The product model and its scores (name -> value), shown as they are. */
  model: { name: string; label: string; scores: Record<string, number> };
}

/** The STAC files of a product; returns the paths written. */
export function writeStacCatalog(s: StacInputs): string[] {
  const stacDir = path.join(s.dir, "stac");
  const p = s.product;
  const id = `smapfill-${path.basename(path.resolve(s.dir))}`.replace(/[^A-Za-z0-9_.-]/g, "-");
  const bbox = p.grid.windowBBox(p.window);
  const lonLat = [bbox.west, bbox.south, bbox.east, bbox.north];
  const end = formatDay(p.startDay + p.days - 1);
  const transform = windowTransform(p.grid, p.window);
  const [xmin, ymax] = [transform[2]!, transform[5]!];
  const xmax = xmin + transform[0]! * p.window.ncols;
  const ymin = ymax + transform[4]! * p.window.nrows;
  const rel = (from: string, file: string) => path.relative(from, file).split(path.sep).join("/");
  const variables = Object.fromEntries(
    p.variables
      .filter((v) => v.kind === "dynamic")
      .map((v) => [
        v.name,
        {
          dimensions: ["time", "y", "x"],
          type: v.name === "soil_moisture" || v.name === "soil_moisture_model" || /^soil_moisture_(am|pm)$/.test(v.name) ? "data" : "auxiliary",
          description: v.long_name,
          ...(v.units && v.units !== "1" ? { unit: v.units } : {}),
          ...(v.attributes?.flag_values ? { values: v.attributes.flag_values } : {}),
        },
      ]),
  );
  const proj = { "proj:epsg": 6933, "proj:shape": [p.window.nrows, p.window.ncols], "proj:transform": transform, "proj:bbox": [xmin, ymin, xmax, ymax] };
  const written: string[] = [];
  const put = (file: string, value: unknown) => {
    writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
    written.push(file);
  };

  // Items: one per month, the month's COGs (a band per day) as assets.
  const months = new Map<string, string[]>();
  for (const f of s.files.cog ?? []) {
    const m = /_(\d{4}-\d{2})\.tif$/.exec(f);
    if (m) months.set(m[1]!, [...(months.get(m[1]!) ?? []), f]);
  }
  const itemsDir = path.join(stacDir, "items");
  const itemLinks: { rel: string; href: string; type: string; title: string }[] = [];
  for (const [month, files] of [...months].sort()) {
    const first = month === p.start.slice(0, 7) ? p.start : `${month}-01`;
    const last = [end, formatDay(Date.UTC(+month.slice(0, 4), +month.slice(5, 7), 0) / 86400000)].sort()[0]!;
    const itemId = `${id}-${month}`;
    const file = path.join(itemsDir, `${itemId}.json`);
    const assets = Object.fromEntries(
      files.flatMap((f) => {
        const variable = path.basename(f, `_${month}.tif`);
        const flags = variable.endsWith("_source");
        return [
          [
            variable,
            {
              href: rel(itemsDir, f),
              type: MEDIA.cog,
              title: `${variable}, ${month} (a band per day, described by its date)`,
              roles: flags ? ["data", "quality"] : variable.endsWith("_uncertainty") ? ["data", "uncertainty"] : ["data"],
            },
          ],
          ...(flags
            ? [
                [
                  `${variable}_categories`,
                  { href: `${rel(itemsDir, f)}.aux.xml`, type: MEDIA.xml, title: `colour table and category names of ${variable}`, roles: ["metadata"] },
                ],
              ]
            : []),
        ];
      }),
    );
    put(file, {
      type: "Feature",
      stac_version: STAC_VERSION,
      stac_extensions: [PROJECTION_EXTENSION],
      id: itemId,
      collection: id,
      geometry: {
        type: "Polygon",
        coordinates: [
          [
            [bbox.west, bbox.south],
            [bbox.east, bbox.south],
            [bbox.east, bbox.north],
            [bbox.west, bbox.north],
            [bbox.west, bbox.south],
          ],
        ],
      },
      bbox: lonLat,
      properties: { datetime: null, start_datetime: `${first}T00:00:00Z`, end_datetime: `${last}T23:59:59Z`, ...proj },
      links: [
        { rel: "collection", href: "../collection.json", type: MEDIA.json },
        { rel: "parent", href: "../collection.json", type: MEDIA.json },
        { rel: "root", href: "../collection.json", type: MEDIA.json },
      ],
      assets,
    });
    itemLinks.push({ rel: "item", href: `./items/${itemId}.json`, type: MEDIA.json, title: month });
  }

  const assets: Record<string, unknown> = {};
  if (s.files.netcdf)
    assets.netcdf = { href: rel(stacDir, s.files.netcdf), type: MEDIA.netcdf, title: "the whole product, NetCDF-4 (CF-1.9)", roles: ["data"] };
  if (s.files.zarr2)
    assets.zarr2 = { href: rel(stacDir, s.files.zarr2), type: MEDIA.zarr, title: "the whole product, Zarr v2 (zarr-python 2, GDAL >= 3.4)", roles: ["data"] };
  assets.zarr3 = {
    href: rel(stacDir, path.join(s.dir, "product.zarr")),
    type: MEDIA.zarr,
    title: "the working store, Zarr v3 (zarr-python >= 3, zarrita, GDAL >= 3.8)",
    roles: ["data"],
  };
  assets.summary = { href: rel(stacDir, path.join(s.dir, "product.json")), type: MEDIA.json, title: "the run and its coverage", roles: ["metadata"] };
  assets.readme = { href: rel(stacDir, path.join(s.dir, "README.txt")), type: MEDIA.text, title: "which file opens where", roles: ["metadata"] };
  for (const q of s.files.quicklooks ?? [])
    assets[path.basename(q, ".png")] = { href: rel(stacDir, q), type: MEDIA.png, title: path.basename(q, ".png").replaceAll("_", " "), roles: ["overview"] };

  put(path.join(stacDir, "collection.json"), {
    type: "Collection",
    stac_version: STAC_VERSION,
    stac_extensions: [DATACUBE_EXTENSION, PROJECTION_EXTENSION],
    id,
    title: String(p.attributes.title ?? "smapfill gap-free SMAP surface soil moisture"),
    description:
      "Gap-free daily surface soil moisture on the EASE-Grid 2.0 (EPSG:6933): NASA SMAP L3 where it retrieved, a model trained on SMAP and the predictors elsewhere, with a one-sigma uncertainty and a source flag for every value.",
    keywords: ["soil moisture", "SMAP", "gap filling", "EASE-Grid 2.0"],
    license: "various",
    providers: [
      { name: "NASA National Snow and Ice Data Center DAAC", roles: ["producer", "licensor"], url: "https://nsidc.org/data/smap" },
      { name: `smapfill ${packageVersion()}`, roles: ["processor"], description: "gap filling, uncertainty and source flags" },
    ],
    extent: { spatial: { bbox: [lonLat] }, temporal: { interval: [[`${p.start}T00:00:00Z`, `${end}T23:59:59Z`]] } },
    "cube:dimensions": {
      x: { type: "spatial", axis: "x", extent: [xmin, xmax], step: p.grid.cellSize, reference_system: 6933 },
      y: { type: "spatial", axis: "y", extent: [ymin, ymax], step: -p.grid.cellSize, reference_system: 6933 },
      time: { type: "temporal", extent: [`${p.start}T00:00:00Z`, `${end}T00:00:00Z`], step: "P1D" },
    },
    "cube:variables": variables,
    "proj:epsg": 6933,
    "smapfill:model": s.model.name,
    "smapfill:model_label": s.model.label,
    "smapfill:model_scores": s.model.scores,
    summaries: { "proj:epsg": [6933] },
    links: [
      { rel: "root", href: "./collection.json", type: MEDIA.json },
      {
        rel: "license",
        href: "https://nsidc.org/data/user-resources/use-and-copyright",
        type: "text/html",
        title: "SMAP: NSIDC's use and copyright (no restrictions; cite the data set); the predictors' own licences apply too",
      },
      ...itemLinks,
    ],
    assets,
  });
  return written;
}
