/** `smapfill predict`: a saved model's estimates for every row of a dataset folder. */
import { Command } from "commander";
import { readDataset } from "../../features/dataset.js";
import { matchSchema, rangeWarnings } from "../../features/schema.js";
import { writeNpy } from "../../io/npy.js";
import { loadModel } from "../../models/model-store.js";
import { selectColumns } from "../../models/regressor.js";
import { checkOutput } from "../options.js";
import { SmapfillError } from "../../util/errors.js";

export function predictCommand(): Command {
  return new Command("predict")
    .argument("<model>", "a model folder written by smapfill train or evaluate")
    .argument("<dataset>", "a dataset folder with the model's features (extra columns are ignored)")
    .description("predict every row of a dataset folder with a saved model; writes float32 .npy")
    .requiredOption("--out <file>", "predictions (.npy)")
    .action((modelDir: string, dir: string, o) => {
      checkOutput(o.out, "--out", [modelDir, dir]);
      const data = readDataset(dir);
      const { model, schema } = loadModel(modelDir);
      if (model.capabilities.sequence)
        throw new SmapfillError(`${model.name} reads its pixels' history from a cube, which a dataset folder does not have`, {
          file: modelDir,
          hint: "Fill a cube with it instead (smapfill reconstruct CUBE --model MODEL_DIR), or score it with smapfill evaluate",
        });
      const match = matchSchema(schema, data.schema, { model: modelDir, data: dir });
      const X = match.identity ? data.X : selectColumns(data.X, data.n, data.f, match.columns);
      for (const w of rangeWarnings(schema, X, data.n)) process.stderr.write(`warning: ${w}\n`);
      const pred = model.predict(X, data.n);
      writeNpy(o.out, pred, [data.n]);
      process.stdout.write(`${data.n} predictions written to ${o.out}\n`);
    });
}
