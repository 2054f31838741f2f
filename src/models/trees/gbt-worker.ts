/** Worker thread body of the gradient-boosted trees: claims units of each level's and round's work (see fitGbt). */
import { serveSyncMessages } from "../../util/sync-workers.js";
import type { GbtWorkerMessage } from "./gbt.js";
import { partitionPieces, processLevel, type LevelData } from "./gbt-level.js";
import { updatePredictions, type UpdateData } from "./gbt-update.js";

serveSyncMessages<{ data: LevelData; update: UpdateData }, GbtWorkerMessage>((message, { data, update }) => {
  data.hists.push(...message.newHists);
  if (message.kind === "level") processLevel(data, message.task);
  else if (message.kind === "partition") partitionPieces(data, message.pieces, message.lefts);
  else updatePredictions(update, message.task);
});
