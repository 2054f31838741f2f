/** `smapfill export`: a cube (input or product) in the formats GDAL, xarray and QGIS open. */
import path from "node:path";
import { Command, Option } from "commander";
import { Cube } from "../../cube/cube.js";
import { exportCube, EXPORT_FORMATS } from "../../cube/export.js";
import { SOURCE_FLAG_COLORS } from "../../reconstruct/source-flag-style.js";
import { checkOutput, formatList } from "../options.js";
import { removeIfLeftEmpty } from "../../util/atomic-file.js";

export function exportCommand(): Command {
  return new Command("export")
    .argument("<cube>", "a cube or product store (.zarr)")
    .description("write a cube as NetCDF-4 (CF-1.9), Cloud-Optimised GeoTIFFs and/or Zarr v2")
    .requiredOption("--out <dir>", "the folder the files go into")
    .addOption(
      new Option("--format <list>", `comma list of ${EXPORT_FORMATS.join(", ")}`)
        .argParser(formatList(EXPORT_FORMATS))
        .default([...EXPORT_FORMATS], EXPORT_FORMATS.join(",")),
    )
    .action(async (cubePath: string, o) => {
      checkOutput(o.out, "--out", [cubePath]);
      const cube = await Cube.open(cubePath);
      removeIfLeftEmpty(o.out);
      const name = path.basename(path.resolve(cubePath)).replace(/\.zarr$/, "");
      const written = await exportCube(cube, o.out, name, o.format, {}, SOURCE_FLAG_COLORS);
      process.stdout.write(`wrote ${written.join(", ")}\n`);
    });
}
