// AssemblyScript: 1-D convolution with 'same' zero padding (odd K) on [B, C, L] rows, direct
// (no im2col): each output row is a sum of shifted input rows, 4 positions per vector. Input
// rows are first copied into a zero-padded scratch row so the shifts need no bounds checks.

import { madd, relu4 } from "./vmath";

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

// Row stride of the forward's padded scratch: pad zeros, L values rounded up to 8, pad + 4 zeros.
@inline function stride8(L: i32, pad: i32): i32 {
  return ((L + 7) & ~7) + 2 * pad + 4;
}

// y[b, co, l] = bias[co] + sum_ci sum_k W[co, ci, k] x[b, ci, l + k - pad]
// A 4 x 8 register tile (4 output channels x 8 positions, as the GEMM's): each (ci, k) step loads
// two shifted input vectors and four weights for eight multiply-adds. Scratch: Cin * stride8 + 4 * Lr8 floats.
// relu: y = max(0, y) (an inference epilogue).
export function conv1dForward(x: usize, W: usize, bias: usize, y: usize, B: i32, Cin: i32, Cout: i32, L: i32, K: i32, scratch: usize, relu: bool): void {
  const pad = K >> 1;
  const S = stride8(L, pad);
  const Lr = (L + 7) & ~7;
  const xp = scratch;
  const rows = at(xp, Cin * S); // 4 output rows [4, Lr]
  const CK = Cin * K;
  for (let b = 0; b < B; b++) {
    padRows(at(x, b * Cin * L), xp, Cin, L, pad, S);
    let co = 0;
    for (; co + 4 <= Cout; co += 4) {
      const w0 = at(W, co * CK);
      const z = f32x4.splat(0);
      const i0 = bias ? v128.load32_splat(at(bias, co)) : z;
      const i1 = bias ? v128.load32_splat(at(bias, co + 1)) : z;
      const i2 = bias ? v128.load32_splat(at(bias, co + 2)) : z;
      const i3 = bias ? v128.load32_splat(at(bias, co + 3)) : z;
      for (let l = 0; l < Lr; l += 8) {
        let a00 = i0, a01 = i0, a10 = i1, a11 = i1, a20 = i2, a21 = i2, a30 = i3, a31 = i3;
        // (ci, k) flattened: tap j of row ci is x[ci * S + k]; the weights of tap j are contiguous per channel.
        const CK4 = <usize>CK << 2;
        let xr = at(xp, l);
        let wr = w0;
        for (let ci = 0; ci < Cin; ci++) {
          for (let k = 0; k < K; k++) {
            const x0 = v128.load(at(xr, k));
            const x1 = v128.load(at(xr, k + 4));
            const v0 = v128.load32_splat(wr);
            const v1 = v128.load32_splat(wr + CK4);
            const v2 = v128.load32_splat(wr + 2 * CK4);
            const v3 = v128.load32_splat(wr + 3 * CK4);
            a00 = madd(v0, x0, a00);
            a01 = madd(v0, x1, a01);
            a10 = madd(v1, x0, a10);
            a11 = madd(v1, x1, a11);
            a20 = madd(v2, x0, a20);
            a21 = madd(v2, x1, a21);
            a30 = madd(v3, x0, a30);
            a31 = madd(v3, x1, a31);
            wr += 4;
          }
          xr = at(xr, S);
        }
        if (relu) {
          a00 = relu4(a00); a01 = relu4(a01); a10 = relu4(a10); a11 = relu4(a11);
          a20 = relu4(a20); a21 = relu4(a21); a30 = relu4(a30); a31 = relu4(a31);
        }
        const r = at(rows, l);
        v128.store(r, a00);
        v128.store(r, a01, 16);
        v128.store(at(r, Lr), a10);
        v128.store(at(r, Lr), a11, 16);
        v128.store(at(r, 2 * Lr), a20);
        v128.store(at(r, 2 * Lr), a21, 16);
        v128.store(at(r, 3 * Lr), a30);
        v128.store(at(r, 3 * Lr), a31, 16);
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
        v128.store(at(rows, l), relu ? relu4(acc) : acc);
      }
      memory.copy(at(y, (b * Cout + co) * L), rows, <usize>L << 2);
    }
  }
}

// dx[b, ci, m] += sum_co sum_k W[co, ci, k] dy[b, co, m - k + pad]  (skipped when dx is 0)
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
    let co0 = 0;
    if (K == 3) {
      // Two output x two input channels: each dy vector serves two input rows' three taps and each
      // shifted input vector two dy rows (8 loads for 12 multiply-adds).
      for (; co0 + 2 <= Cout; co0 += 2) {
        const d0r = at(dyp, co0 * S + pad);
        const d1r = at(d0r, S);
        let ci = 0;
        for (; ci + 2 <= Cin; ci += 2) {
          const x0r = at(xp, ci * S);
          const x1r = at(x0r, S);
          const p00 = acc + (<usize>((co0 * Cin + ci) * 3) << 4); // (co0, ci), then (co0, ci + 1) 48 bytes on
          const p10 = acc + (<usize>(((co0 + 1) * Cin + ci) * 3) << 4);
          let s000 = v128.load(p00), s001 = v128.load(p00, 16), s002 = v128.load(p00, 32);
          let s010 = v128.load(p00, 48), s011 = v128.load(p00, 64), s012 = v128.load(p00, 80);
          let s100 = v128.load(p10), s101 = v128.load(p10, 16), s102 = v128.load(p10, 32);
          let s110 = v128.load(p10, 48), s111 = v128.load(p10, 64), s112 = v128.load(p10, 80);
          for (let l = 0; l < Lr; l += 4) {
            const d0 = v128.load(at(d0r, l));
            const d1 = v128.load(at(d1r, l));
            let xv = v128.load(at(x0r, l));
            s000 = madd(d0, xv, s000);
            s100 = madd(d1, xv, s100);
            xv = v128.load(at(x0r, l + 1));
            s001 = madd(d0, xv, s001);
            s101 = madd(d1, xv, s101);
            xv = v128.load(at(x0r, l + 2));
            s002 = madd(d0, xv, s002);
            s102 = madd(d1, xv, s102);
            xv = v128.load(at(x1r, l));
            s010 = madd(d0, xv, s010);
            s110 = madd(d1, xv, s110);
            xv = v128.load(at(x1r, l + 1));
            s011 = madd(d0, xv, s011);
            s111 = madd(d1, xv, s111);
            xv = v128.load(at(x1r, l + 2));
            s012 = madd(d0, xv, s012);
            s112 = madd(d1, xv, s112);
          }
          v128.store(p00, s000); v128.store(p00, s001, 16); v128.store(p00, s002, 32);
          v128.store(p00, s010, 48); v128.store(p00, s011, 64); v128.store(p00, s012, 80);
          v128.store(p10, s100); v128.store(p10, s101, 16); v128.store(p10, s102, 32);
          v128.store(p10, s110, 48); v128.store(p10, s111, 64); v128.store(p10, s112, 80);
        }
        for (; ci < Cin; ci++) {
          const xr = at(xp, ci * S);
          const p0 = acc + (<usize>((co0 * Cin + ci) * 3) << 4);
          const p1 = acc + (<usize>(((co0 + 1) * Cin + ci) * 3) << 4);
          let s00 = v128.load(p0), s01 = v128.load(p0, 16), s02 = v128.load(p0, 32);
          let s10 = v128.load(p1), s11 = v128.load(p1, 16), s12 = v128.load(p1, 32);
          for (let l = 0; l < Lr; l += 4) {
            const d0 = v128.load(at(d0r, l));
            const d1 = v128.load(at(d1r, l));
            let xv = v128.load(at(xr, l));
            s00 = madd(d0, xv, s00);
            s10 = madd(d1, xv, s10);
            xv = v128.load(at(xr, l + 1));
            s01 = madd(d0, xv, s01);
            s11 = madd(d1, xv, s11);
            xv = v128.load(at(xr, l + 2));
            s02 = madd(d0, xv, s02);
            s12 = madd(d1, xv, s12);
          }
          v128.store(p0, s00); v128.store(p0, s01, 16); v128.store(p0, s02, 32);
          v128.store(p1, s10); v128.store(p1, s11, 16); v128.store(p1, s12, 32);
        }
      }
    }
    for (let co = co0; co < Cout; co++) {
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
    // dx row by row: dx[m] = sum_co sum_k W[co, ci, k] dyp[co * S + m + 2 pad - k] (dx 0: not wanted)
    let ci = dx ? 0 : Cin;
    for (; ci + 4 <= Cin; ci += 4) {
      // Four input channels x eight positions (as the forward's tile): two shifted dy vectors and
      // four weights per (co, k) for eight multiply-adds.
      const Lr8 = (L + 7) & ~7;
      for (let m = 0; m < Lr8; m += 8) {
        let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
        let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
        const K4 = <usize>K << 2;
        const wStep = <usize>(Cin * K) << 2;
        let wr = at(W, ci * K);
        let dr = at(dyp, m + 2 * pad);
        for (let co = 0; co < Cout; co++) {
          for (let k = 0; k < K; k++) {
            const d0 = v128.load(at(dr, -k));
            const d1 = v128.load(at(dr, 4 - k));
            const v0 = v128.load32_splat(at(wr, k));
            const v1 = v128.load32_splat(at(wr, k) + K4);
            const v2 = v128.load32_splat(at(wr, k) + 2 * K4);
            const v3 = v128.load32_splat(at(wr, k) + 3 * K4);
            s00 = madd(v0, d0, s00);
            s01 = madd(v0, d1, s01);
            s10 = madd(v1, d0, s10);
            s11 = madd(v1, d1, s11);
            s20 = madd(v2, d0, s20);
            s21 = madd(v2, d1, s21);
            s30 = madd(v3, d0, s30);
            s31 = madd(v3, d1, s31);
          }
          wr += wStep;
          dr = at(dr, S);
        }
        for (let j = 0; j < 4; j++) {
          const d = at(dx, (b * Cin + ci + j) * L + m);
          const v0 = j == 0 ? s00 : j == 1 ? s10 : j == 2 ? s20 : s30;
          const v1 = j == 0 ? s01 : j == 1 ? s11 : j == 2 ? s21 : s31;
          if (m + 8 <= L) {
            v128.store(d, f32x4.add(v128.load(d), v0));
            v128.store(d, f32x4.add(v128.load(d, 16), v1), 16);
            continue;
          }
          v128.store(row, v0);
          v128.store(row, v1, 16);
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
