/**
 * The hot loops of the engine behind one small interface. Ops call these and nothing else for
 * heavy arithmetic, so a faster implementation (WebAssembly SIMD, threads) replaces the plain
 * TypeScript one without any change to ops, layers or models. The TypeScript kernels are the
 * oracle the others are tested against, and they also run in float64 for gradient checks.
 * Which implementation runs is chosen in select.ts.
 */
import type { Rng } from "../../util/random.js";

export type Arr = Float32Array | Float64Array;

export interface Kernels {
  readonly name: string;
  /**
   * A zeroed float32 array in the kernels' own memory, which they then use in place instead of
   * copying it in and out (WebAssembly builds; absent: ordinary arrays serve as well). Never
   * freed: for arrays that are recycled (tensor.ts's scratch).
   */
  allocate?(n: number): Float32Array;
  /**
   * C[M,N] = (accumulate ? C : 0) + op(A) op(B), row-major.
   * op(A) is A[M,K] (transA false) or A[K,M]^T; op(B) is B[K,N] or B[N,K]^T.
   * bias [N], when given, is added to every row (a dense layer's bias, fused); relu: C = max(0, C)
   * at the end (an inference epilogue: with accumulate, C may hold a residual added before it).
   */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, A: Arr, B: Arr, C: Arr, accumulate: boolean, bias?: Arr | null, relu?: boolean): void;
  /** y = a + b elementwise (same lengths; y may be a or b). */
  add(a: Arr, b: Arr, y: Arr): void;
  /** target += source elementwise. */
  addInto(target: Arr, source: Arr): void;
  /** y = a * b elementwise, or y += a * b with accumulate (same lengths). */
  mul(a: Arr, b: Arr, y: Arr, accumulate: boolean): void;
  /** out[j] += sum_i A[i, j], A [M, N] (a dense layer's bias gradient). */
  columnSums(A: Arr, M: number, N: number, out: Arr): void;
  /** One Adam/AdamW update of parameter p (in place) with gradient g and moments m, v (see optim.Adam). */
  adamStep(p: Arr, g: Arr, m: Arr, v: Arr, o: AdamStepOptions): void;
  /** y[b, co, l] = bias[co] + sum_ci,k W[co, ci, k] x[b, ci, l + k - K/2] (zero padding); y overwritten; relu: y = max(0, y). */
  conv1d(x: Arr, W: Arr, bias: Arr | null, y: Arr, B: number, Cin: number, Cout: number, L: number, K: number, relu?: boolean): void;
  /** Adds the gradients of conv1d into dx, dW, dbias (each may be null: not wanted); overwriteDx: dx = its gradient instead. */
  conv1dBackward(
    x: Arr,
    W: Arr,
    dy: Arr,
    dx: Arr | null,
    dW: Arr | null,
    dbias: Arr | null,
    B: number,
    Cin: number,
    Cout: number,
    L: number,
    K: number,
    overwriteDx?: boolean,
  ): void;
  /**
   * Batch normalisation over [N, C, L] (channel c of sample n: the row at (n C + c) L), writing
   * xhat and y = gamma xhat + beta. stats = [mean C | variance C | 1/sqrt(variance + eps) C]:
   * computed from the batch when training, given (mean and 1/std) otherwise.
   */
  batchNorm(x: Arr, y: Arr, xhat: Arr, N: number, C: number, L: number, gamma: Arr, beta: Arr, stats: Float64Array, eps: number, training: boolean): void;
  /** Adds the gradients of batchNorm (the batch statistics' part when training) into dx, dgamma, dbeta (null: not wanted); overwriteDx: dx = its gradient instead. */
  batchNormBackward(
    dy: Arr,
    xhat: Arr,
    dx: Arr | null,
    N: number,
    C: number,
    L: number,
    gamma: Arr,
    stats: Float64Array,
    training: boolean,
    dgamma: Arr | null,
    dbeta: Arr | null,
    overwriteDx?: boolean,
  ): void;
  /**
   * Layer normalisation of `rows` rows of width d: xhat = (x - mean) / sqrt(var + eps) (biased
   * variance), y = gamma xhat + beta, invStd[r] = 1 / sqrt(var + eps).
   */
  layerNorm(x: Arr, y: Arr, xhat: Arr, invStd: Arr, rows: number, d: number, gamma: Arr, beta: Arr, eps: number): void;
  /** Adds the gradients of layerNorm into dx, dgamma, dbeta (null: not wanted; dgamma and dbeta together). */
  layerNormBackward(dy: Arr, xhat: Arr, invStd: Arr, rows: number, d: number, gamma: Arr, dx: Arr | null, dgamma: Arr | null, dbeta: Arr | null): void;
  /** y = max(x, 0). */
  relu(x: Arr, y: Arr): void;
  /** dx += dy where y > 0 (overwrite: dx = dy there, 0 elsewhere). */
  reluBackward(y: Arr, dy: Arr, dx: Arr, overwrite?: boolean): void;
  /** y = GELU(x) (exact erf form). */
  gelu(x: Arr, y: Arr): void;
  /** dx += dy * GELU'(x) (overwrite: dx = dy * GELU'(x)). */
  geluBackward(x: Arr, dy: Arr, dx: Arr, overwrite?: boolean): void;
  /** Dropout multipliers (0, or 1 / (1 - p) with probability 1 - p) drawn in order from `rng`. */
  dropoutMask(mask: Arr, p: number, rng: Rng): void;
  /**
   * Multi-head self-attention core on qkv [B, T, 3d] -> y [B, T, d] (see ops.attention), with
   * dropout p on the attention probabilities drawn from `rng` (p = 0: none). Returns y and, unless
   * keep is false (no backward pass will follow), what the backward pass needs; its arrays come
   * from `allocate` when given (the caller's recycled arrays, which the kernels may use in place).
   */
  attention(
    qkv: Arr,
    B: number,
    T: number,
    d: number,
    heads: number,
    scale: number,
    p: number,
    rng: Rng,
    keep?: boolean,
    allocate?: (n: number) => Arr,
  ): AttentionSaved;
  /** Adds the gradient of the attention with respect to qkv into dqkv, given dy. */
  attentionBackward(saved: AttentionSaved, qkv: Arr, dy: Arr, dqkv: Arr, B: number, T: number, d: number, heads: number, scale: number): void;
  /**
   * The recurrence of one LSTM layer over T steps, time-major, in PyTorch's gate order (input,
   * forget, cell, output). On entry gates [T, B, 4H] hold each step's input projection with both
   * biases (x_t W_ih^T + b_ih + b_hh), and slot 0 of hs and cs [T + 1, B, H] the initial state.
   * For t = 0..T-1 and each row b: z = gates[t, b] + h_t[b] W_hh^T (W_hh [4H, H]), i = sigma(z_i),
   * f = sigma(z_f), g = tanh(z_g), o = sigma(z_o), c_t+1 = f c_t + i g, h_t+1 = o tanh(c_t+1),
   * written to slot t + 1; gates[t, b] is overwritten with (i, f, g, o). Where mask[t, b] (time-
   * major [T, B], null: every step) is 0, the row keeps its state (h_t+1 = h_t, c_t+1 = c_t) and
   * its gates are left as they were.
   */
  lstmForward(gates: Arr, Whh: Arr, hs: Arr, cs: Arr, mask: Arr | null, T: number, B: number, H: number): void;
  /**
   * The backward pass of lstmForward (gates and cs as it left them): writes dGates [T, B, 4H],
   * the gradient of the gate pre-activations (0 on masked rows). dOut [T, B, H] (null: none) is
   * the gradient with respect to each step's output h_t+1; dh and dc [B, H] hold on entry the
   * gradient with respect to h_T and c_T and on return the one with respect to h_0 and c_0.
   */
  lstmBackward(gates: Arr, Whh: Arr, cs: Arr, mask: Arr | null, dOut: Arr | null, dh: Arr, dc: Arr, dGates: Arr, T: number, B: number, H: number): void;
}

export interface AdamStepOptions {
  b1: number;
  b2: number;
  /** lr / (1 - b1^t) */
  stepSize: number;
  /** sqrt(1 - b2^t) */
  sqrtC2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: p *= 1 - lr weightDecay before the update (else weightDecay p is added to g). */
  decoupled: boolean;
  lr: number;
}

export interface AttentionSaved {
  y: Arr;
  /** Attention probabilities and dropout multipliers (0 or 1/(1-p)), per (batch row, head). */
  P: Arr;
  M: Arr | null;
  /** "dense": [B*H, T, T]; "padded": [B*H, T, Tp] with Tp = T rounded up to 4. */
  layout: "dense" | "padded";
  extra?: unknown;
}
