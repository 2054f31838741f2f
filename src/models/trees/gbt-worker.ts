/** Worker thread body of the gradient-boosted trees: claims units of each level's work (see fitGbt). */
import { serveSyncMessages } from "../../util/sync-workers.js";
import type { GbtWorkerMessage } from "./gbt.js";
import { partitionPieces, processLevel, type LevelData } from "./gbt-level.js";

serveSyncMessages<{ data: LevelData }, GbtWorkerMessage>((message, { data }) => {
  data.hists.push(...message.newHists);
  if (message.kind === "level") processLevel(data, message.task);
  else partitionPieces(data, message.pieces, message.lefts);
});
