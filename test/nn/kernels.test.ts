import { test } from "node:test";
import assert from "node:assert/strict";
import { kernels, tsKernels, wasmKernels, wasmRelaxedKernels } from "../../src/nn/kernels/select.js";
import { wasmSimdAvailable, wasmVariantAvailable } from "../../src/nn/kernels/wasm-kernels.js";

/** Both builds of the WebAssembly kernels: plain SIMD and fused multiply-add (relaxed SIMD). */
const WASM_BUILDS = [wasmKernels, wasmRelaxedKernels];
import { Rng } from "../../src/util/random.js";

/** float64 reference product, independent of both kernels. */
function reference(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  acc: boolean,
): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = acc ? C[i * N + j]! : 0;
      for (let k = 0; k < K; k++) s += (transA ? A[k * M + i]! : A[i * K + k]!) * (transB ? B[j * K + k]! : B[k * N + j]!);
      out[i * N + j] = s;
    }
  }
  return out;
}

test("both WebAssembly builds load here (Node 20: relaxed SIMD enabled at run time) and the fused one is the default", () => {
  assert.ok(wasmSimdAvailable());
  assert.ok(wasmVariantAvailable("relaxed-simd"));
  assert.equal(kernels().name, process.env.SMAPFILL_KERNELS ?? "wasm-relaxed-simd");
});

for (const wasm of WASM_BUILDS)
  test(`property: GEMM of both kernels equals a float64 product for odd shapes and every transpose (${wasm.name})`, () => {
    const rng = new Rng(3);
    const sizes = [1, 3, 8, 17, 64, 511];
    let cases = 0;
    for (let trial = 0; trial < 60; trial++) {
      const [M, N, K] = [0, 0, 0].map(() => sizes[rng.int(sizes.length)]!) as [number, number, number];
      if (M * N * K > 4e6) continue;
      const transA = rng.uniform() < 0.5;
      const transB = rng.uniform() < 0.5;
      const acc = rng.uniform() < 0.5;
      const A = Float32Array.from({ length: M * K }, () => rng.normal());
      const B = Float32Array.from({ length: K * N }, () => rng.normal());
      const C0 = Float32Array.from({ length: M * N }, () => rng.normal());
      const bias = rng.uniform() < 0.5 ? Float32Array.from({ length: N }, () => rng.normal()) : null;
      const relu = rng.uniform() < 0.3;
      const expected = reference(transA, transB, M, N, K, A, B, C0, acc);
      if (bias) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) expected[i * N + j]! += bias[j]!;
      if (relu) for (let i = 0; i < M * N; i++) expected[i] = Math.max(0, expected[i]!);
      for (const k of [tsKernels, wasm]) {
        const C = C0.slice();
        k.gemm(transA, transB, M, N, K, A, B, C, acc, bias, relu);
        for (let i = 0; i < M * N; i++) {
          const tol = 1e-5 * Math.sqrt(K) * (1 + Math.abs(expected[i]!));
          assert.ok(Math.abs(C[i]! - expected[i]!) <= tol, `${k.name} ${transA ? "T" : "N"}${transB ? "T" : "N"} ${M}x${N}x${K}: ${C[i]} vs ${expected[i]}`);
        }
      }
      cases++;
    }
    assert.ok(cases > 40);
  });

for (const wasm of WASM_BUILDS)
  test(`property: GEMM with one output column (a regression head: a vectorised dot product per row) equals a float64 product (${wasm.name})`, () => {
    const rng = new Rng(13);
    for (const K of [16, 17, 40, 128, 511])
      for (const [acc, withBias, relu] of [
        [false, false, false],
        [true, true, false],
        [false, true, true],
        [true, false, true],
      ] as [boolean, boolean, boolean][]) {
        const M = 37;
        const A = Float32Array.from({ length: M * K }, () => rng.normal());
        const B = Float32Array.from({ length: K }, () => rng.normal());
        const C0 = Float32Array.from({ length: M }, () => rng.normal());
        const bias = withBias ? Float32Array.of(rng.normal()) : null;
        const expected = reference(false, rng.uniform() < 0.5, M, 1, K, A, B, C0, acc)
          .map((v) => v + (bias ? bias[0]! : 0))
          .map((v) => (relu ? Math.max(0, v) : v));
        for (const transB of [false, true]) {
          const C = C0.slice();
          wasm.gemm(false, transB, M, 1, K, A, B, C, acc, bias, relu);
          for (let i = 0; i < M; i++)
            assert.ok(Math.abs(C[i]! - expected[i]!) <= 1e-5 * Math.sqrt(K) * (1 + Math.abs(expected[i]!)), `K ${K} row ${i}: ${C[i]} vs ${expected[i]}`);
        }
      }
  });

for (const wasm of WASM_BUILDS)
  test(`GEMM on views (subarrays) reads and writes only the view (${wasm.name})`, () => {
    const big = new Float32Array(100).fill(7);
    const A = Float32Array.from({ length: 6 }, (_, i) => i + 1);
    const B = Float32Array.from({ length: 6 }, (_, i) => 6 - i);
    const C = big.subarray(10, 14);
    wasm.gemm(false, false, 2, 2, 3, A, B, C, false);
    assert.deepEqual([...C], [1 * 6 + 2 * 4 + 3 * 2, 1 * 5 + 2 * 3 + 3 * 1, 4 * 6 + 5 * 4 + 6 * 2, 4 * 5 + 5 * 3 + 6 * 1]);
    assert.equal(big[9], 7);
    assert.equal(big[14], 7);
  });

for (const wasm of WASM_BUILDS)
  test(`property: attention of both kernels agrees (forward, backward, dropout masks and RNG state) for odd shapes (${wasm.name})`, () => {
    const rng = new Rng(17);
    for (const [B, T, d, heads, p] of [
      [1, 1, 8, 2, 0],
      [2, 3, 32, 4, 0.1],
      [3, 17, 32, 4, 0.1],
      [2, 41, 32, 4, 0],
      [2, 41, 32, 4, 0.1],
      [1, 8, 32, 4, 0.1],
      [2, 13, 16, 2, 0],
      [1, 6, 12, 3, 0.5],
      [2, 5, 12, 2, 0.2], // dh = 6: not a multiple of 4, the WebAssembly kernel falls back
    ] as [number, number, number, number, number][]) {
      const qkv = Float32Array.from({ length: B * T * 3 * d }, () => rng.normal());
      const dy = Float32Array.from({ length: B * T * d }, () => rng.normal());
      const scale = 1 / Math.sqrt(d / heads);
      const run = (k: typeof tsKernels) => {
        const r = new Rng(99);
        const saved = k.attention(qkv, B, T, d, heads, scale, p, r);
        const dqkv = Float32Array.from({ length: qkv.length }, (_, i) => 0.01 * i); // accumulates
        k.attentionBackward(saved, qkv, dy, dqkv, B, T, d, heads, scale);
        // Without a backward pass (keep false) the probabilities are not stored: the same values.
        const yOnly = k.attention(qkv, B, T, d, heads, scale, p, new Rng(99), false).y;
        return { y: saved.y, dqkv, state: r.getState()[0], yOnly };
      };
      const a = run(tsKernels);
      const b = run(wasm);
      const label = `B ${B} T ${T} d ${d} heads ${heads} p ${p}`;
      assert.equal(b.state, a.state, `${label}: same number of random draws`);
      for (let i = 0; i < a.y.length; i++) assert.ok(Math.abs(a.y[i]! - b.y[i]!) <= 1e-5 * (1 + Math.abs(a.y[i]!)), `${label} y[${i}] ${a.y[i]} ${b.y[i]}`);
      assert.deepEqual(Array.from(b.yOnly), Array.from(b.y), `${label}: the same values without stored probabilities`);
      for (let i = 0; i < a.dqkv.length; i++)
        assert.ok(Math.abs(a.dqkv[i]! - b.dqkv[i]!) <= 1e-4 * (1 + Math.abs(a.dqkv[i]!)), `${label} dqkv[${i}] ${a.dqkv[i]} ${b.dqkv[i]}`);
    }
  });

for (const wasm of WASM_BUILDS)
  test(`property: GELU, its gradient and dropout masks of both kernels agree (odd lengths, same random stream) (${wasm.name})`, () => {
    const rng = new Rng(5);
    for (const n of [1, 3, 17, 511, 4099]) {
      const x = Float32Array.from({ length: n }, () => 4 * rng.normal());
      const dy = Float32Array.from({ length: n }, () => rng.normal());
      const ya = new Float32Array(n);
      const yb = new Float32Array(n);
      tsKernels.gelu(x, ya);
      wasm.gelu(x, yb);
      const da = Float32Array.from({ length: n }, (_, i) => i * 0.001);
      const db = da.slice();
      tsKernels.geluBackward(x, dy, da);
      wasm.geluBackward(x, dy, db);
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(ya[i]! - yb[i]!) <= 1e-6 * (1 + Math.abs(x[i]!)), `gelu(${x[i]}) ${ya[i]} ${yb[i]}`);
        assert.ok(Math.abs(da[i]! - db[i]!) <= 2e-6 * (1 + Math.abs(dy[i]!)), `gelu'(${x[i]}) ${da[i]} ${db[i]}`);
      }
      for (const p of [0.1, 0.5]) {
        const [ra, rb] = [new Rng(n), new Rng(n)];
        const ma = new Float32Array(n);
        const mb = new Float32Array(n);
        tsKernels.dropoutMask(ma, p, ra);
        wasm.dropoutMask(mb, p, rb);
        assert.deepEqual(mb, ma);
        assert.deepEqual(rb.getState(), ra.getState());
      }
    }
  });

for (const wasm of WASM_BUILDS)
  test(`property: conv1d of both kernels agrees, forward and every gradient, for odd shapes (${wasm.name})`, () => {
    const rng = new Rng(8);
    for (const [B, Cin, Cout, L, K] of [
      [1, 1, 1, 1, 1],
      [2, 1, 16, 40, 3],
      [3, 16, 32, 51, 3],
      [2, 3, 5, 7, 5],
      [1, 2, 3, 2, 3],
      [2, 4, 3, 17, 3],
      // kernel 3 with >= 4 input channels: Winograd F(4, 3) in groups of 8 samples, tiles of 4
      [9, 16, 32, 40, 3],
      [11, 5, 6, 9, 3],
      [13, 4, 8, 1, 3],
      [5, 6, 2, 4, 3],
      [8, 7, 9, 19, 3],
    ] as [number, number, number, number, number][]) {
      const x = Float32Array.from({ length: B * Cin * L }, () => rng.normal());
      const W = Float32Array.from({ length: Cout * Cin * K }, () => rng.normal());
      const bias = Float32Array.from({ length: Cout }, () => rng.normal());
      const dy = Float32Array.from({ length: B * Cout * L }, () => rng.normal());
      const run = (k: typeof tsKernels) => {
        const y = new Float32Array(B * Cout * L).fill(7);
        k.conv1d(x, W, bias, y, B, Cin, Cout, L, K);
        const dx = Float32Array.from({ length: x.length }, (_, i) => 0.1 * i);
        const dW = Float32Array.from({ length: W.length }, (_, i) => 0.1 * i);
        const db = Float32Array.from({ length: Cout }, (_, i) => 0.1 * i);
        k.conv1dBackward(x, W, dy, dx, dW, db, B, Cin, Cout, L, K);
        const dxOnly = new Float32Array(x.length);
        k.conv1dBackward(x, W, dy, dxOnly, null, null, B, Cin, Cout, L, K);
        const dWOnly = new Float32Array(W.length);
        k.conv1dBackward(x, W, dy, null, dWOnly, null, B, Cin, Cout, L, K);
        const yRelu = new Float32Array(B * Cout * L).fill(7);
        k.conv1d(x, W, bias, yRelu, B, Cin, Cout, L, K, true);
        return { y, dx, dW, db, dxOnly, dWOnly, yRelu };
      };
      const a = run(tsKernels);
      const b = run(wasm);
      const label = `B ${B} Cin ${Cin} Cout ${Cout} L ${L} K ${K}`;
      for (let i = 0; i < a.y.length; i++) assert.equal(a.yRelu[i], Math.max(0, a.y[i]!), `${label} relu epilogue`);
      for (const key of ["y", "dx", "dW", "db", "dxOnly", "dWOnly", "yRelu"] as const) {
        const [u, v] = [a[key], b[key]];
        for (let i = 0; i < u.length; i++) assert.ok(Math.abs(u[i]! - v[i]!) <= 1e-4 * (1 + Math.abs(u[i]!)), `${label} ${key}[${i}] ${u[i]} ${v[i]}`);
      }
    }
  });

for (const wasm of WASM_BUILDS)
  test(`property: batch norm (training and eval) and ReLU of both kernels agree for odd shapes (${wasm.name})`, () => {
    const rng = new Rng(9);
    for (const [N, C, L] of [
      [2, 1, 1],
      [7, 3, 1],
      [512, 16, 1],
      [5, 7, 1], // four channels vectorised, three by the sweep code
      [33, 130, 1],
      [5, 4, 3],
      [9, 16, 40],
      [3, 5, 51],
    ] as [number, number, number][]) {
      const n = N * C * L;
      const x = Float32Array.from({ length: n }, () => 2 + 3 * rng.normal());
      const gamma = Float32Array.from({ length: C }, () => rng.normal());
      const beta = Float32Array.from({ length: C }, () => rng.normal());
      const dy = Float32Array.from({ length: n }, () => rng.normal());
      for (const training of [true, false]) {
        const run = (k: typeof tsKernels) => {
          const stats = new Float64Array(3 * C);
          if (!training) for (let c = 0; c < C; c++) ((stats[c] = 0.5 * c), (stats[2 * C + c] = 1 / (1 + c)));
          const y = new Float32Array(n);
          const xhat = new Float32Array(n);
          k.batchNorm(x, y, xhat, N, C, L, gamma, beta, stats, 1e-5, training);
          const dx = Float32Array.from({ length: n }, (_, i) => 0.01 * i);
          const dg = Float32Array.from({ length: C }, (_, i) => i);
          const db = Float32Array.from({ length: C }, (_, i) => -i);
          k.batchNormBackward(dy, xhat, dx, N, C, L, gamma, stats, training, dg, db);
          const relu = new Float32Array(n);
          k.relu(x, relu);
          const dr = Float32Array.from({ length: n }, (_, i) => 0.01 * i);
          k.reluBackward(relu, dy, dr);
          return { y, xhat, dx, dg, db, stats: Float32Array.from(stats), relu, dr };
        };
        const a = run(tsKernels);
        const b = run(wasm);
        for (const key of ["y", "xhat", "dx", "dg", "db", "stats", "relu", "dr"] as const) {
          const [u, v] = [a[key], b[key]];
          const scale = key === "dg" || key === "db" ? Math.sqrt(N * L) : 1;
          for (let i = 0; i < u.length; i++)
            assert.ok(Math.abs(u[i]! - v[i]!) <= 2e-5 * scale * (1 + Math.abs(u[i]!)), `[${N}, ${C}, ${L}] training ${training} ${key}[${i}] ${u[i]} ${v[i]}`);
        }
      }
    }
  });

for (const wasm of WASM_BUILDS)
  test(`property: column sums and Adam/AdamW steps of both kernels agree for odd lengths (${wasm.name})`, () => {
    const rng = new Rng(12);
    for (const [M, N] of [
      [1, 1],
      [3, 5],
      [17, 128],
      [512, 33],
    ] as [number, number][]) {
      const A = Float32Array.from({ length: M * N }, () => rng.normal());
      const a = Float32Array.from({ length: N }, (_, j) => j);
      const b = a.slice();
      tsKernels.columnSums(A, M, N, a);
      wasm.columnSums(A, M, N, b);
      for (let j = 0; j < N; j++)
        assert.ok(Math.abs(a[j]! - b[j]!) <= 1e-5 * Math.sqrt(M) * (1 + Math.abs(a[j]!)), `[${M}, ${N}] column ${j}: ${a[j]} ${b[j]}`);
    }
    for (const n of [1, 3, 17, 511]) {
      for (const [weightDecay, decoupled] of [
        [0, false],
        [0.01, false],
        [1e-5, true],
      ] as [number, boolean][]) {
        const p = Float32Array.from({ length: n }, () => rng.normal());
        const g = Float32Array.from({ length: n }, () => rng.normal());
        const m = Float32Array.from({ length: n }, () => 0.1 * rng.normal());
        const v = Float32Array.from({ length: n }, () => 0.1 * rng.uniform());
        const run = (k: typeof tsKernels) => {
          const [pk, mk, vk] = [p.slice(), m.slice(), v.slice()];
          k.adamStep(pk, g, mk, vk, {
            b1: 0.9,
            b2: 0.999,
            stepSize: 1e-3 / (1 - 0.9 ** 3),
            sqrtC2: Math.sqrt(1 - 0.999 ** 3),
            eps: 1e-8,
            weightDecay,
            decoupled,
            lr: 1e-3,
          });
          return [pk, mk, vk];
        };
        const [ra, rb] = [run(tsKernels), run(wasm)];
        for (let q = 0; q < 3; q++)
          for (let i = 0; i < n; i++)
            assert.ok(Math.abs(ra[q]![i]! - rb[q]![i]!) <= 1e-6 * (1 + Math.abs(ra[q]![i]!)), `n ${n} array ${q}[${i}]: ${ra[q]![i]} ${rb[q]![i]}`);
      }
    }
  });

for (const wasm of WASM_BUILDS)
  test(`property: layer norm forward and backward of both kernels agree for odd row counts (${wasm.name})`, () => {
    const rng = new Rng(13);
    for (const [rows, d] of [
      [1, 4],
      [3, 32],
      [17, 12],
      [511, 32],
      [5, 6], // not a multiple of 4: the WebAssembly kernel falls back
    ] as [number, number][]) {
      const n = rows * d;
      const x = Float32Array.from({ length: n }, () => 1 + 2 * rng.normal());
      const gamma = Float32Array.from({ length: d }, () => rng.normal());
      const beta = Float32Array.from({ length: d }, () => rng.normal());
      const dy = Float32Array.from({ length: n }, () => rng.normal());
      const run = (k: typeof tsKernels) => {
        const [y, xhat, invStd] = [new Float32Array(n), new Float32Array(n), new Float32Array(rows)];
        k.layerNorm(x, y, xhat, invStd, rows, d, gamma, beta, 1e-5);
        const dx = Float32Array.from({ length: n }, (_, i) => 0.01 * i);
        const dg = Float32Array.from({ length: d }, (_, i) => i);
        const db = Float32Array.from({ length: d }, (_, i) => -i);
        k.layerNormBackward(dy, xhat, invStd, rows, d, gamma, dx, dg, db);
        const dxOnly = new Float32Array(n);
        k.layerNormBackward(dy, xhat, invStd, rows, d, gamma, dxOnly, null, null);
        return { y, xhat, invStd, dx, dg, db, dxOnly };
      };
      const [a, b] = [run(tsKernels), run(wasm)];
      for (const key of ["y", "xhat", "invStd", "dx", "dg", "db", "dxOnly"] as const) {
        const scale = key === "dg" || key === "db" ? Math.sqrt(rows) : 1;
        for (let i = 0; i < a[key].length; i++)
          assert.ok(Math.abs(a[key][i]! - b[key][i]!) <= 3e-5 * scale * (1 + Math.abs(a[key][i]!)), `[${rows}, ${d}] ${key}[${i}] ${a[key][i]} ${b[key][i]}`);
      }
    }
  });

/** n normal values in an array from the kernels' own memory (used in place) or an ordinary one (copied). */
function operand(wasm: typeof wasmKernels, rng: Rng, n: number, inPlace: boolean): Float32Array {
  const a = inPlace ? wasm.allocate!(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

for (const wasm of WASM_BUILDS)
  test(`property: operands in the kernels' own memory (used in place) give the same results as copied ones: GEMM (${wasm.name})`, () => {
    const rng = new Rng(12);
    for (let trial = 0; trial < 40; trial++) {
      const [M, N, K] = [1 + rng.int(40), 1 + rng.int(40), 1 + rng.int(40)];
      const [transA, transB, acc, relu] = [rng.uniform() < 0.5, rng.uniform() < 0.5, rng.uniform() < 0.5, rng.uniform() < 0.3];
      const own = [rng.uniform() < 0.5, rng.uniform() < 0.5, rng.uniform() < 0.5];
      const [A, B, C] = [operand(wasm, rng, M * K, own[0]!), operand(wasm, rng, K * N, own[1]!), operand(wasm, rng, M * N, own[2]!)];
      const [A2, B2, C2] = [A.slice(), B.slice(), C.slice()];
      wasm.gemm(transA, transB, M, N, K, A, B, C, acc, null, relu);
      wasm.gemm(transA, transB, M, N, K, A2, B2, C2, acc, null, relu);
      assert.deepEqual(Array.from(C), Array.from(C2), `${M}x${N}x${K} own ${own}`);
      assert.deepEqual(Array.from(A), Array.from(A2), "inputs untouched");
    }
  });

/** A small random training batch for the three nets: 37 rows of 12 inputs and their targets. */
function trainingBatch(seed: number): { nIn: number; batch: number; x: Float32Array; y: Float32Array } {
  const [nIn, batch] = [12, 37];
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: batch * nIn }, () => rng.normal());
  const y = Float32Array.from({ length: batch }, () => rng.normal());
  return { nIn, batch, x, y };
}

/** The LSTM network's window for a batch of nIn inputs: nIn days of one input (the others ignore it). */
const LSTM_SHAPE = (nIn: number) => ({ steps: nIn, hidden: 12 });

test("a training step with intermediates in the kernels' memory (in place) equals one with copied operands, bit for bit, for all four nets", async () => {
  const { buildNet } = await import("../../src/models/nets.js");
  const { backpropagate } = await import("../../src/models/net-steps.js");
  const k = kernels();
  assert.ok(k.allocate, "the active kernels have their own memory");
  const { nIn, batch, x, y } = trainingBatch(5);
  for (const name of ["tssmnet", "autoresnet", "transformer", "lstm"] as const) {
    const gradients = (inPlace: boolean) => {
      const allocate = k.allocate;
      if (!inPlace) k.allocate = undefined;
      try {
        const net = buildNet(name, nIn, { seed: 1, sequence: LSTM_SHAPE(nIn) });
        net.train();
        const loss = backpropagate(net, x, y, batch, nIn);
        return [loss, ...net.parameters().flatMap((p) => Array.from(p.grad!))];
      } finally {
        k.allocate = allocate;
      }
    };
    // New sizes first (fresh arrays from the kernels' memory), then the copied path.
    assert.deepEqual(gradients(true), gradients(false), name);
  }
});

for (const wasm of WASM_BUILDS)
  test(`property: add and addInto of both kernels agree for odd lengths, operands copied or in place (${wasm.name})`, () => {
    const rng = new Rng(21);
    for (const n of [1, 3, 4, 17, 511]) {
      for (const inPlace of [false, true]) {
        const make = () => operand(wasm, rng, n, inPlace);
        const [a, b, y, t] = [make(), make(), make(), make()];
        const expected = Array.from(a, (v, i) => Math.fround(v + b[i]!));
        const before = Array.from(t);
        wasm.add(a, b, y);
        assert.deepEqual(Array.from(y), expected, `add n=${n}`);
        wasm.addInto(t, a);
        assert.deepEqual(
          Array.from(t),
          before.map((v, i) => Math.fround(v + a[i]!)),
          `addInto n=${n}`,
        );
        const ts = Float32Array.from(before);
        tsKernels.addInto(ts, a);
        assert.deepEqual(Array.from(ts), Array.from(t));
      }
    }
  });

for (const wasm of WASM_BUILDS)
  test(`property: mul (and multiply-accumulate) of both kernels agree for odd lengths, operands copied or in place (${wasm.name})`, () => {
    const rng = new Rng(22);
    for (const n of [1, 3, 4, 17, 511]) {
      for (const inPlace of [false, true]) {
        const make = () => operand(wasm, rng, n, inPlace);
        const [a, b, y, t] = [make(), make(), make(), make()];
        wasm.mul(a, b, y, false);
        assert.deepEqual(
          Array.from(y),
          Array.from(a, (v, i) => Math.fround(v * b[i]!)),
          `mul n=${n}`,
        );
        const expected = Float32Array.from(t);
        tsKernels.mul(a, b, expected, true);
        wasm.mul(a, b, t, true);
        // The oracle adds in float64 before rounding once, the kernel rounds the product first: one ulp apart at most.
        for (let i = 0; i < n; i++) assert.ok(Math.abs(t[i]! - expected[i]!) <= 2e-7 * (1 + Math.abs(expected[i]!)), `multiply-accumulate n=${n}`);
      }
    }
  });

test("gradients do not depend on what recycled buffers hold: a step after filling them with NaN equals a step after zeros, for all four nets", async () => {
  const { buildNet } = await import("../../src/models/nets.js");
  const { backpropagate } = await import("../../src/models/net-steps.js");
  const { fillRecycledArrays } = await import("../../src/nn/tensor.js");
  const { nIn, batch, x, y } = trainingBatch(6);
  for (const name of ["tssmnet", "autoresnet", "transformer", "lstm"] as const) {
    const gradients = (fill: number) => {
      const net = buildNet(name, nIn, { seed: 1, sequence: LSTM_SHAPE(nIn) });
      net.train();
      backpropagate(net, x, y, batch, nIn); // every intermediate's size is now in the free lists
      fillRecycledArrays(fill);
      for (const p of net.parameters()) p.grad?.fill(0);
      const loss = backpropagate(net, x, y, batch, nIn);
      return [loss, ...net.parameters().flatMap((p) => Array.from(p.grad!))];
    };
    const zeros = gradients(0);
    assert.ok(zeros.every(Number.isFinite), name);
    assert.deepEqual(gradients(NaN), zeros, name);
  }
});

for (const wasm of WASM_BUILDS)
  test(`property: the LSTM recurrence of both kernels agrees, forward and backward, with and without masks, for odd shapes (${wasm.name})`, () => {
    const rng = new Rng(21);
    for (const [T, B, H, masked, withOut] of [
      [1, 1, 1, false, true],
      [3, 2, 4, true, true],
      [7, 5, 3, true, false],
      [6, 9, 13, true, true],
      [12, 16, 32, false, true],
      [4, 3, 64, true, false],
    ] as [number, number, number, boolean, boolean][]) {
      const label = `T ${T} B ${B} H ${H}${masked ? " masked" : ""}`;
      const n = (T + 1) * B * H;
      // Pre-activations spread wide enough to saturate some gates (|z| up to ~12).
      const gates0 = Float32Array.from({ length: T * B * 4 * H }, () => 3 * rng.normal());
      const Whh = Float32Array.from({ length: 4 * H * H }, () => rng.normal() / Math.sqrt(H));
      const hs0 = new Float32Array(n);
      const cs0 = new Float32Array(n);
      for (let k = 0; k < B * H; k++) [hs0[k], cs0[k]] = [0.5 * rng.normal(), rng.normal()];
      const mask = masked ? Float32Array.from({ length: T * B }, () => (rng.uniform() < 0.3 ? 0 : 1)) : null;
      const dOut = withOut ? Float32Array.from({ length: T * B * H }, () => rng.normal()) : null;
      const dh0 = Float32Array.from({ length: B * H }, () => rng.normal());
      const dc0 = Float32Array.from({ length: B * H }, () => rng.normal());
      const run = (k: typeof tsKernels) => {
        const [gates, hs, cs] = [gates0.slice(), hs0.slice(), cs0.slice()];
        k.lstmForward(gates, Whh, hs, cs, mask, T, B, H);
        const [dh, dc] = [dh0.slice(), dc0.slice()];
        const dGates = new Float32Array(gates.length).fill(NaN); // written entirely
        k.lstmBackward(gates, Whh, cs, mask, dOut, dh, dc, dGates, T, B, H);
        return { gates, hs, cs, dh, dc, dGates };
      };
      const a = run(tsKernels);
      const b = run(wasm);
      for (const key of ["gates", "hs", "cs", "dh", "dc", "dGates"] as const) {
        let worst = 0;
        for (let i = 0; i < a[key].length; i++) worst = Math.max(worst, Math.abs(a[key][i]! - b[key][i]!) / (1 + Math.abs(a[key][i]!)));
        assert.ok(worst <= 2e-5, `${label}: ${key} differs by ${worst}`);
      }
      if (mask)
        for (let t = 0; t < T; t++)
          for (let r = 0; r < B; r++)
            if (mask[t * B + r] === 0)
              for (let j = 0; j < H; j++) {
                assert.equal(b.hs[((t + 1) * B + r) * H + j], b.hs[(t * B + r) * H + j], `${label}: a masked step keeps h`);
                for (let g = 0; g < 4; g++) assert.equal(b.dGates[(t * B + r) * 4 * H + g * H + j], 0);
              }
    }
  });
