/**
 * Worker thread body for DCT-PLS: solves one piece of a window per message (the pieces are
 * independent) and sends back its values (transferred, not copied).
 */
import { parentPort } from "node:worker_threads";
import { messageOf } from "../util/errors.js";
import { dctPls, type DctPlsOptions, type DctPlsPiece } from "./dctpls.js";

export interface DctPlsTask {
  piece: DctPlsPiece;
  options: DctPlsOptions;
}

parentPort!.on("message", ({ piece, options }: DctPlsTask) => {
  try {
    const r = dctPls(piece.y, piece.dims, options);
    parentPort!.postMessage({ ok: true, result: r }, [r.values.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({ ok: false, error: messageOf(error) });
  }
});
