/**
 * `npm run bench -- dct`: the 3-D orthonormal DCT that DCT-PLS spends its time in
 * (src/util/dct.ts, written here) against scipy.fft's dctn / idctn (pocketfft, C++), one thread
 * each, float64, on the shapes DCT-PLS solves: a full piece (64 days x 128 x 128 cells, every
 * axis by FFT) and a piece whose time axis is not a power of two (48 days: the matrix path).
 * Rounds alternate ours and scipy's; medians of the rounds and their ratio.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { Dct3, type Dims3 } from "../src/util/dct.js";
import { median } from "./common.js";

const SHAPES: Dims3[] = [
  [64, 128, 128],
  [48, 128, 128],
];

function ours(dims: Dims3, repeats: number): number {
  const n = dims[0] * dims[1] * dims[2];
  const x = Float64Array.from({ length: n }, (_, k) => Math.sin(k * 0.37));
  const spectrum = new Float64Array(n);
  const dct = new Dct3(dims);
  dct.forward(x, spectrum);
  dct.inverse(spectrum, x);
  const started = performance.now();
  for (let r = 0; r < repeats; r++) {
    dct.forward(x, spectrum);
    dct.inverse(spectrum, x);
  }
  return (performance.now() - started) / 1000 / repeats;
}

function scipy(repo: string, dims: Dims3, repeats: number): { seconds_per_pair: number; scipy: string; numpy: string } {
  const r = spawnSync("/usr/bin/python3", [path.join(repo, "bench", "python", "dct_peer.py"), ...dims.map(String), String(repeats)], {
    encoding: "utf8",
    env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" },
  });
  if (r.status !== 0) throw new Error(`dct_peer.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export async function benchDct(o: { repo: string; rounds: number; repeats: number }) {
  const results = [];
  let versions: { scipy: string; numpy: string } | undefined;
  for (const dims of SHAPES) {
    const [a, b]: [number[], number[]] = [[], []];
    for (let round = 0; round < o.rounds; round++) {
      a.push(ours(dims, o.repeats));
      const peer = scipy(o.repo, dims, o.repeats);
      b.push(peer.seconds_per_pair);
      versions = { scipy: peer.scipy, numpy: peer.numpy };
    }
    const row = {
      dims,
      ours_seconds_per_pair: a,
      scipy_seconds_per_pair: b,
      ours_median: median(a),
      scipy_median: median(b),
      time_ratio_ours_over_scipy: median(a.map((v, i) => v / b[i]!)),
    };
    process.stderr.write(
      `dct ${dims.join(" x ")}: ours ${(row.ours_median * 1000).toFixed(1)} ms, scipy ${(row.scipy_median * 1000).toFixed(1)} ms per forward + inverse\n`,
    );
    results.push(row);
  }
  return {
    benchmark: "dct",
    description: `A forward and an inverse orthonormal 3-D DCT (float64, one thread) per timing, ${o.repeats} per round, ${o.rounds} rounds alternating ours (src/util/dct.ts) and scipy.fft.dctn/idctn (bench/python/dct_peer.py, timed inside Python); time_ratio: the median of the rounds' ours / scipy (above 1: ours slower).`,
    peer: versions,
    results,
  };
}
