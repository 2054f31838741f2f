/**
 * GDAL's auxiliary metadata file (`FILE.aux.xml`, "PAM"), which GDAL, QGIS and rasterio read
 * beside any raster: here a colour table and category names per band, for category rasters
 * (flags) stored with many bands. A GeoTIFF holds a colour table only for a single-band
 * palette image, so for a band per day GDAL itself keeps the table in this file.
 */
import { writeFileSync, renameSync } from "node:fs";

export interface PamCategories {
  /** Category name of each value 0..n-1 ("" for values without one). */
  names: string[];
  /** Colour of each value 0..n-1 as #rrggbb, or null for transparent. */
  colors: (string | null)[];
}

const escape = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** Writes `raster.aux.xml` giving each of `bands` bands the same categories and colour table. */
export function writeCategoryPam(raster: string, bands: number, c: PamCategories, descriptions: string[] = []): string {
  const entries = c.colors.map((hex) => {
    if (!hex) return '<Entry c1="0" c2="0" c3="0" c4="0"/>';
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return `<Entry c1="${r}" c2="${g}" c3="${b}" c4="255"/>`;
  });
  const band = (i: number) =>
    [
      `  <PAMRasterBand band="${i + 1}">`,
      ...(descriptions[i] ? [`    <Description>${escape(descriptions[i]!)}</Description>`] : []),
      `    <CategoryNames>${c.names.map((n) => `<Category>${escape(n)}</Category>`).join("")}</CategoryNames>`,
      "    <ColorInterp>Palette</ColorInterp>",
      `    <ColorTable>${entries.join("")}</ColorTable>`,
      "  </PAMRasterBand>",
    ].join("\n");
  const xml = ["<PAMDataset>", ...Array.from({ length: bands }, (_, i) => band(i)), "</PAMDataset>", ""].join("\n");
  const file = `${raster}.aux.xml`;
  writeFileSync(`${file}.${process.pid}.tmp`, xml);
  renameSync(`${file}.${process.pid}.tmp`, file);
  return file;
}
