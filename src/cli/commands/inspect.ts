/** `smapfill inspect`: a cube or product (variables, window, period, coverage, provenance, model), or the groups and datasets of an HDF5 / NetCDF-4 file. */
import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { Cube } from "../../cube/cube.js";
import { Ease2Grid } from "../../grid/ease2.js";
import { Group, openHdf5 } from "../../io/hdf5.js";
import { describeMissingReasons, missingReasonShares } from "../../cube/missing-reasons.js";
import { productStatus } from "../../reconstruct/product-inputs.js";
import { SmapfillError } from "../../util/errors.js";

export function inspectCommand(): Command {
  return new Command("inspect")
    .argument("<file>", "a cube or product (.zarr), a product folder (reconstruct --out), or an HDF5 / NetCDF-4 file")
    .description(
      "describe a cube or product (variables, window, period, coverage, provenance, model), or list the groups and datasets of an HDF5 / NetCDF-4 file",
    )
    .option("--json", "a cube as JSON (window, period, variables, coverage, the share of gaps per reason, provenance)")
    .action(async (file: string, o: { json?: boolean }) => {
      if (fs.existsSync(path.join(file, "zarr.json"))) {
        process.stdout.write(o.json ? `${JSON.stringify(await cubeSummary(file), null, 2)}\n` : await describeCube(file));
        return;
      }
      // A product folder (reconstruct --out): its working store, then what else the folder holds.
      if (fs.existsSync(path.join(file, "product.zarr", "zarr.json"))) {
        const files = fs.readdirSync(file).sort();
        process.stdout.write(`${await describeCube(path.join(file, "product.zarr"))}  folder     ${path.resolve(file)}: ${files.join(", ")}\n`);
        return;
      }
      if (fs.existsSync(file) && fs.statSync(file).isDirectory())
        throw new SmapfillError("is a folder without a cube or product (no zarr.json, no product.zarr/zarr.json)", {
          file,
          hint: "Give a cube (.zarr), a product folder (smapfill reconstruct --out) or an HDF5 / NetCDF-4 file",
        });
      const h5 = openHdf5(file);
      const lines: string[] = [];
      const walk = (group: InstanceType<typeof Group>, prefix: string) => {
        for (const key of group.keys()) {
          const entity = group.get(key);
          if (entity instanceof Group) walk(entity, `${prefix}${key}/`);
          else if (entity && "shape" in entity) {
            const shape = (entity as { shape: number[] | null }).shape ?? [];
            const grid = shape.length === 2 ? Ease2Grid.fromShape(shape[0]!, shape[1]!) : undefined;
            lines.push(`${prefix}${key}  [${shape.join(" x ")}] ${(entity as { dtype: unknown }).dtype}${grid ? `  (${grid.name})` : ""}`);
          }
        }
      };
      walk(h5, "/");
      h5.close();
      process.stdout.write(`${path.resolve(file)}\n${lines.join("\n")}\n`);
    });
}

/** Share of the cube's pixel-days with a soil moisture value, or undefined without one. */
async function soilMoistureCoverage(cube: Cube): Promise<number | undefined> {
  if (!cube.hasVariable("soil_moisture")) return undefined;
  let valid = 0;
  for (const tile of cube.tiles()) for (const v of await cube.readBlock("soil_moisture", 0, cube.days, tile)) if (!Number.isNaN(v)) valid++;
  return valid / Math.max(1, cube.window.nrows * cube.window.ncols * cube.days);
}

/** A cube's description as JSON (inspect --json). */
async function cubeSummary(file: string) {
  const cube = await Cube.open(file);
  return {
    path: path.resolve(file),
    grid: cube.grid.name,
    window: cube.window,
    bbox: cube.grid.windowBBox(cube.window),
    start: cube.start,
    days: cube.days,
    chunks: cube.chunks,
    variables: cube.variables,
    soil_moisture_coverage: await soilMoistureCoverage(cube),
    missing_reasons: await missingReasonShares(cube),
    provenance: cube.provenance,
  };
}

/** A cube's description: what it holds and where it came from. */
async function describeCube(file: string): Promise<string> {
  const cube = await Cube.open(file);
  const w = cube.window;
  const bbox = cube.grid.windowBBox(w);
  const a = cube.attributes;
  const lines = [
    `${path.resolve(file)}: ${String(a.title ?? "smapfill cube")}`,
    `  grid       ${cube.grid.name}, rows ${w.row0}-${w.row0 + w.nrows - 1}, cols ${w.col0}-${w.col0 + w.ncols - 1} (${w.nrows} x ${w.ncols}), ${bbox.south.toFixed(2)}..${bbox.north.toFixed(2)} N, ${bbox.west.toFixed(2)}..${bbox.east.toFixed(2)} E`,
    `  period     ${cube.start} + ${cube.days} days; chunks ${cube.chunks.time} days x ${cube.chunks.y} x ${cube.chunks.x}`,
  ];
  const coverage = await soilMoistureCoverage(cube);
  if (coverage !== undefined) lines.push(`  coverage   soil_moisture has a value on ${(100 * coverage).toFixed(1)} % of pixel-days`);
  const shares = await missingReasonShares(cube);
  if (shares) lines.push(...describeMissingReasons(shares));
  lines.push("  variables");
  for (const v of cube.variables) lines.push(`    ${v.name.padEnd(28)} ${v.kind.padEnd(8)} ${(v.dtype ?? "float32").padEnd(8)} ${v.units}  ${v.long_name}`);
  if (a.model)
    lines.push(
      `  model      ${String(a.model)} (${String(a.model_dir)}, fingerprint ${String(a.model_fingerprint)})`,
      `  calibration ${String(a.model_calibration_metrics).slice(0, 200)}`,
    );
  if (cube.isProduct) lines.push(`  inputs     ${await productStatus(cube, (p) => Cube.open(p))}`);
  lines.push("  provenance");
  for (const p of cube.provenance) lines.push(`    ${p.time} ${p.step}${p.detail ? ` ${JSON.stringify(p.detail).slice(0, 160)}` : ""}`);
  return `${lines.join("\n")}\n`;
}
