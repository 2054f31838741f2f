/** Worker thread body of the random forest: grows the trees it is given (see fitForest). */
import { serveSyncTasks } from "../../util/sync-workers.js";
import { growTree, type ForestData } from "./forest.js";
import type { Tree } from "./tree.js";

serveSyncTasks<number[], Tree[]>((ids, shared) => ids.map((t) => growTree(shared as ForestData, t)));
