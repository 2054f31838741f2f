/** Worker thread body of TreePredictor: walks the rows it is given through the packed trees. */
import { serveSyncMessages } from "../../util/sync-workers.js";
import { walkClaimed, type TreeWorkerMessage, type TreeWorkerSetup } from "./packed-trees.js";

serveSyncMessages<TreeWorkerSetup, TreeWorkerMessage>((m, s) => {
  const out = s.wide ? new Float64Array(m.out) : new Float32Array(m.out);
  walkClaimed(s.trees, new Float32Array(m.X), s.f, m, out, s.start);
});
