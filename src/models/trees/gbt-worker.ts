/** Worker thread body of the gradient-boosted trees: one column range of each level (see fitGbt). */
import { serveSyncMessages } from "../../util/sync-workers.js";
import type { GbtWorkerMessage } from "./gbt.js";
import { partitionRows, processLevel, type LevelData } from "./gbt-level.js";

serveSyncMessages<{ data: LevelData }, GbtWorkerMessage>((message, { data }) =>
  message.kind === "level" ? processLevel(data, message.task, message.range) : partitionRows(data, message.jobs, message.from, message.to, message.mids),
);
