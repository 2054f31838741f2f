// AssemblyScript: 1-D convolution with 'same' zero padding (odd K) on [B, C, L] rows, direct
// (no im2col): each output row is a sum of shifted input rows, 4 positions per vector. Input
// rows are first copied into a zero-padded scratch row so the shifts need no bounds checks.

import { madd } from "./vmath";

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

// Row stride of the padded scratch: pad zeros, L values rounded up to 4, pad + 4 zeros.
@inline function stride(L: i32, pad: i32): i32 {
  return ((L + 3) & ~3) + 2 * pad + 4;
}

// dst rows [C, S]: dst[c * S + pad + l] = src[c * L + l], zeros elsewhere.
function padRows(src: usize, dst: usize, C: i32, L: i32, pad: i32, S: i32): void {
  memory.fill(dst, 0, <usize>(C * S) << 2);
  for (let c = 0; c < C; c++) memory.copy(at(dst, c * S + pad), at(src, c * L), <usize>L << 2);
}

// y[b, co, l] = bias[co] + sum_ci sum_k W[co, ci, k] x[b, ci, l + k - pad]
// Four output channels at a time share each shifted input vector.
export function conv1dForward(x: usize, W: usize, bias: usize, y: usize, B: i32, Cin: i32, Cout: i32, L: i32, K: i32, scratch: usize): void {
  const pad = K >> 1;
  const S = stride(L, pad);
  const Lr = (L + 3) & ~3;
  const xp = scratch;
  const rows = at(xp, Cin * S); // 4 output rows [4, Lr]
  const CK = Cin * K;
  for (let b = 0; b < B; b++) {
    padRows(at(x, b * Cin * L), xp, Cin, L, pad, S);
    let co = 0;
    for (; co + 4 <= Cout; co += 4) {
      const w0 = at(W, co * CK);
      for (let l = 0; l < Lr; l += 4) {
        let a0 = bias ? v128.load32_splat(at(bias, co)) : f32x4.splat(0);
        let a1 = bias ? v128.load32_splat(at(bias, co + 1)) : f32x4.splat(0);
        let a2 = bias ? v128.load32_splat(at(bias, co + 2)) : f32x4.splat(0);
        let a3 = bias ? v128.load32_splat(at(bias, co + 3)) : f32x4.splat(0);
        for (let ci = 0; ci < Cin; ci++) {
          const xr = at(xp, ci * S + l);
          for (let k = 0; k < K; k++) {
            const xv = v128.load(at(xr, k));
            const j = ci * K + k;
            a0 = madd(v128.load32_splat(at(w0, j)), xv, a0);
            a1 = madd(v128.load32_splat(at(w0, CK + j)), xv, a1);
            a2 = madd(v128.load32_splat(at(w0, 2 * CK + j)), xv, a2);
            a3 = madd(v128.load32_splat(at(w0, 3 * CK + j)), xv, a3);
          }
        }
        v128.store(at(rows, l), a0);
        v128.store(at(rows, Lr + l), a1);
        v128.store(at(rows, 2 * Lr + l), a2);
        v128.store(at(rows, 3 * Lr + l), a3);
      }
      for (let j = 0; j < 4; j++) memory.copy(at(y, (b * Cout + co + j) * L), at(rows, j * Lr), <usize>L << 2);
    }
    for (; co < Cout; co++) {
      const b0 = bias ? load<f32>(at(bias, co)) : 0;
      for (let l = 0; l < Lr; l += 4) {
        let acc = f32x4.splat(b0);
        for (let ci = 0; ci < Cin; ci++) {
          const xr = at(xp, ci * S + l);
          const wr = at(W, (co * Cin + ci) * K);
          for (let k = 0; k < K; k++) acc = madd(v128.load32_splat(at(wr, k)), v128.load(at(xr, k)), acc);
        }
        v128.store(at(rows, l), acc);
      }
      memory.copy(at(y, (b * Cout + co) * L), rows, <usize>L << 2);
    }
  }
}

// dx[b, ci, m] += sum_co sum_k W[co, ci, k] dy[b, co, m - k + pad]
// dW[co, ci, k] += sum_b sum_l dy[b, co, l] x[b, ci, l + k - pad];  dbias[co] += sum_b sum_l dy[b, co, l]
export function conv1dBackward(
  x: usize,
  W: usize,
  dy: usize,
  dx: usize,
  dW: usize,
  dbias: usize,
  B: i32,
  Cin: i32,
  Cout: i32,
  L: i32,
  K: i32,
  scratch: usize,
): void {
  const pad = K >> 1;
  const S = stride(L, pad);
  const Lr = (L + 3) & ~3;
  const xp = scratch;
  const dyp = at(xp, Cin * S);
  const row = at(dyp, Cout * S);
  const acc = (at(row, Lr + 4) + 15) & ~15; // [Cout * Cin * K] vectors, summed over the batch
  memory.fill(acc, 0, <usize>(Cout * Cin * K) << 4);
  let dbv: f32 = 0;
  for (let b = 0; b < B; b++) {
    padRows(at(x, b * Cin * L), xp, Cin, L, pad, S);
    padRows(at(dy, b * Cout * L), dyp, Cout, L, pad, S);
    if (dbias) {
      for (let co = 0; co < Cout; co++) {
        const dr = at(dyp, co * S + pad);
        dbv = 0;
        for (let l = 0; l < L; l++) dbv += load<f32>(at(dr, l));
        store<f32>(at(dbias, co), load<f32>(at(dbias, co)) + dbv);
      }
    }
    for (let co = 0; co < Cout; co++) {
      const dr = at(dyp, co * S + pad); // zeros beyond L
      for (let ci = 0; ci < Cin; ci++) {
        const xr = at(xp, ci * S);
        if (K == 3) {
          // The three taps share each dy vector.
          const slot = acc + (<usize>((co * Cin + ci) * 3) << 4);
          let s0 = v128.load(slot);
          let s1 = v128.load(slot, 16);
          let s2 = v128.load(slot, 32);
          for (let l = 0; l < Lr; l += 4) {
            const d = v128.load(at(dr, l));
            s0 = madd(d, v128.load(at(xr, l)), s0);
            s1 = madd(d, v128.load(at(xr, l + 1)), s1);
            s2 = madd(d, v128.load(at(xr, l + 2)), s2);
          }
          v128.store(slot, s0);
          v128.store(slot, s1, 16);
          v128.store(slot, s2, 32);
          continue;
        }
        for (let k = 0; k < K; k++) {
          const slot = acc + (<usize>((co * Cin + ci) * K + k) << 4);
          let s = v128.load(slot);
          for (let l = 0; l < Lr; l += 4) s = madd(v128.load(at(dr, l)), v128.load(at(xr, l + k)), s);
          v128.store(slot, s);
        }
      }
    }
    // dx row by row: dx[m] = sum_co sum_k W[co, ci, k] dyp[co * S + m + 2 pad - k]
    let ci = 0;
    for (; ci + 4 <= Cin; ci += 4) {
      // Four input channels share each shifted dy vector.
      for (let m = 0; m < Lr; m += 4) {
        let s0 = f32x4.splat(0);
        let s1 = f32x4.splat(0);
        let s2 = f32x4.splat(0);
        let s3 = f32x4.splat(0);
        for (let co = 0; co < Cout; co++) {
          const wr = at(W, (co * Cin + ci) * K);
          for (let k = 0; k < K; k++) {
            const dv = v128.load(at(dyp, co * S + m + 2 * pad - k));
            s0 = madd(v128.load32_splat(at(wr, k)), dv, s0);
            s1 = madd(v128.load32_splat(at(wr, K + k)), dv, s1);
            s2 = madd(v128.load32_splat(at(wr, 2 * K + k)), dv, s2);
            s3 = madd(v128.load32_splat(at(wr, 3 * K + k)), dv, s3);
          }
        }
        for (let j = 0; j < 4; j++) {
          const d = at(dx, (b * Cin + ci + j) * L + m);
          const v = j == 0 ? s0 : j == 1 ? s1 : j == 2 ? s2 : s3;
          if (m + 4 <= L) {
            v128.store(d, f32x4.add(v128.load(d), v));
            continue;
          }
          v128.store(row, v);
          for (let t = 0; t < L - m; t++) store<f32>(at(d, t), load<f32>(at(d, t)) + load<f32>(at(row, t)));
        }
      }
    }
    for (; ci < Cin; ci++) {
      for (let m = 0; m < Lr; m += 4) {
        let s = f32x4.splat(0);
        for (let co = 0; co < Cout; co++) {
          const wr = at(W, (co * Cin + ci) * K);
          for (let k = 0; k < K; k++) s = madd(v128.load32_splat(at(wr, k)), v128.load(at(dyp, co * S + m + 2 * pad - k)), s);
        }
        v128.store(at(row, m), s);
      }
      const d = at(dx, (b * Cin + ci) * L);
      for (let m = 0; m < L; m++) store<f32>(at(d, m), load<f32>(at(d, m)) + load<f32>(at(row, m)));
    }
  }
  for (let j = 0; j < Cout * Cin * K; j++) {
    const v = v128.load(acc + (<usize>j << 4));
    const sum = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
    store<f32>(at(dW, j), load<f32>(at(dW, j)) + sum);
  }
}
