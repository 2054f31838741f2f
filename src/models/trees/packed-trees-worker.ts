/** Worker thread body of TreePredictor: walks the rows it is given through the packed trees. */
import { serveSyncMessages } from "../../util/sync-workers.js";
import { workerWalk, type TreeWorkerMessage, type TreeWorkerSetup } from "./packed-trees.js";

let walk: ((m: TreeWorkerMessage) => void) | undefined;
serveSyncMessages<TreeWorkerSetup, TreeWorkerMessage>((m, s) => {
  walk ??= workerWalk(s);
  walk(m);
});
