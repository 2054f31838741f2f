/** `smapfill inspect`: the groups and datasets of an HDF5 / NetCDF-4 file. */
import path from "node:path";
import { Command } from "commander";
import { Ease2Grid } from "../../grid/ease2.js";
import { Group, openHdf5 } from "../../io/hdf5.js";

export function inspectCommand(): Command {
  return new Command("inspect")
    .argument("<file>", "an HDF5 or NetCDF-4 file")
    .description("list the groups and datasets of an HDF5 / NetCDF-4 file")
    .action((file: string) => {
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
