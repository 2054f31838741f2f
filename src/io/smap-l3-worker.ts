/**
 * Worker thread body for parallel granule reading: reads one granule per message and sends back
 * plain data (the arrays are transferred, not copied).
 */
import { parentPort } from "node:worker_threads";
import { messageOf } from "../util/errors.js";
import { readSmapL3, type SmapReadOptions } from "./smap-l3.js";

export interface ReadTask {
  file: string;
  options: SmapReadOptions;
}

parentPort!.on("message", ({ file, options }: ReadTask) => {
  try {
    const g = readSmapL3(file, options);
    const plain = { ...g, grid: g.grid.resolution };
    const buffers = g.passes.flatMap((p) => [p.values.buffer, ...(p.flags ? [p.flags.buffer] : [])]) as ArrayBuffer[];
    parentPort!.postMessage({ ok: true, granule: plain }, buffers);
  } catch (error) {
    parentPort!.postMessage({ ok: false, failure: { file, error: messageOf(error) } });
  }
});
