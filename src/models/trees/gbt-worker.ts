/** Worker thread body of the gradient-boosted trees: one column range of each level (see fitGbt). */
import { serveSyncMessages } from "../../util/sync-workers.js";
import type { GbtWorkerMessage } from "./gbt.js";
import { processLevel, type LevelData } from "./gbt-level.js";

serveSyncMessages<{ data: LevelData }, GbtWorkerMessage>((message, { data }) => processLevel(data, message.task, message.range));
