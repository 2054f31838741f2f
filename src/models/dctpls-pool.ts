/**
 * DCT-PLS's pieces on worker threads: one piece per worker at a time, so that a window holds at
 * most a piece per thread beyond its own values. One thread solves in this thread (no pool).
 */
import { defaultThreads, WorkerPool } from "../util/worker-pool.js";
import { dctPlsPieces, dctPlsTiled, type DctPlsOptions, type DctPlsResult, type DctPlsTiledResult, type PieceStore } from "./dctpls.js";
import type { DctPlsTask } from "./dctpls-worker.js";

type Reply = { ok: true; result: DctPlsResult } | { ok: false; error: string };

export async function solveDctPlsPieces(
  y: Float32Array,
  dims: [number, number, number],
  o: DctPlsOptions,
  run: { threads?: number; onProgress?: (done: number, total: number) => void; store?: PieceStore } = {},
): Promise<DctPlsTiledResult> {
  // No more workers than pieces; each holds about 90 MB for a full-size piece.
  const threads = Math.min(run.threads ?? defaultThreads(), dctPlsPieces(dims).length);
  if (threads <= 1) return dctPlsTiled(y, dims, o, { onPiece: run.onProgress, store: run.store });
  const pool = new WorkerPool<DctPlsTask, Reply>(new URL("./dctpls-worker.js", import.meta.url), threads);
  try {
    return await dctPlsTiled(y, dims, o, {
      concurrency: threads,
      onPiece: run.onProgress,
      store: run.store,
      solve: async (piece, options) => {
        const reply = await pool.run({ piece, options });
        if (!reply.ok) throw new Error(`DCT-PLS on a piece of ${piece.dims.join(" x ")}: ${reply.error}`);
        return reply.result;
      },
    });
  } finally {
    await pool.close();
  }
}
