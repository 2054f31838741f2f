/** Worker thread body of the gradient-boosted trees: claims units of each level's and round's work (see fitGbt). */
import { serveSyncMessages } from "../../util/sync-workers.js";
import type { GbtWorkerMessage } from "./gbt.js";
import { tsHistogramKernels, wasmHistogramKernels } from "./gbt-histogram.js";
import { partitionPieces, processLevel, type LevelData } from "./gbt-level.js";
import { updatePredictions, type UpdateData } from "./gbt-update.js";

const { memory } = serveSyncMessages<{ data: LevelData; update: UpdateData; memory: WebAssembly.Memory | null }, GbtWorkerMessage>(
  (message, { data, update }) => {
    data.hists.push(...message.newHists);
    if (message.kind === "level") processLevel(data, message.task, kernels);
    else if (message.kind === "partition") partitionPieces(data, message.pieces, message.lefts);
    else updatePredictions(update, message.task);
  },
);
// This thread's instance of the kernels, on the calling thread's memory (the arrays are views on it).
const kernels = memory ? wasmHistogramKernels(memory) : tsHistogramKernels;
