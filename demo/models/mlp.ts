// A two-layer perceptron classifier (Dense -> tanh -> Dense -> softmax cross-entropy) with a
// hand-written backward pass. Parameters use Gluon's Dense layout (weight [units, in_units],
// y = x W^T + b) and names, so they are the tensors a Gluon model would declare. Arithmetic is
// done in doubles over whatever float arrays are passed: the demo passes Float32Array (the
// server's float32 tensors), the gradient check Float64Array.

/** Any writable float array (Float32Array for training, Float64Array for gradient checks). */
export type FloatArray = Float32Array | Float64Array;

export interface MlpShape {
  inputs: number;
  hidden: number;
  classes: number;
}

/** Weights and biases, row-major; gradients use the same type. */
export interface MlpParams<A extends FloatArray = Float32Array> {
  dense0_weight: A; // [hidden, inputs]
  dense0_bias: A; // [hidden]
  dense1_weight: A; // [classes, hidden]
  dense1_bias: A; // [classes]
}

export const MLP_PARAM_NAMES = ['dense0_weight', 'dense0_bias', 'dense1_weight', 'dense1_bias'] as const;
export type MlpParamName = (typeof MLP_PARAM_NAMES)[number];

/** Shapes of the four parameters, by name. */
export function mlpParamShapes(s: MlpShape): Record<MlpParamName, number[]> {
  return {
    dense0_weight: [s.hidden, s.inputs],
    dense0_bias: [s.hidden],
    dense1_weight: [s.classes, s.hidden],
    dense1_bias: [s.classes],
  };
}

/** Zero-filled gradients (or parameters) of the given array type. */
export function mlpZeros(
  s: MlpShape,
  make: (n: number) => FloatArray = (n) => new Float32Array(n),
): MlpParams<FloatArray> {
  return {
    dense0_weight: make(s.hidden * s.inputs),
    dense0_bias: make(s.hidden),
    dense1_weight: make(s.classes * s.hidden),
    dense1_bias: make(s.classes),
  };
}

/**
 * Sum over `rows` of the per-sample cross-entropy loss, and, when `grads` is given, the sum of
 * the per-sample gradients added into it (the caller zeroes it). Summed, not averaged: as with
 * Gluon's loss.backward() + trainer.step(batch_size), the trainer divides by the batch size.
 */
export function mlpLossAndGrad(
  s: MlpShape,
  p: MlpParams<FloatArray>,
  x: FloatArray,
  y: ArrayLike<number>,
  rows: ArrayLike<number>,
  grads: MlpParams<FloatArray> | null = null,
): number {
  const { inputs: D, hidden: H, classes: K } = s;
  const h = new Float64Array(H);
  const logits = new Float64Array(K);
  const dh = new Float64Array(H);
  let total = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const xo = row * D;
    for (let j = 0; j < H; j++) {
      let a = p.dense0_bias[j]!;
      const wo = j * D;
      for (let d = 0; d < D; d++) a += p.dense0_weight[wo + d]! * x[xo + d]!;
      h[j] = Math.tanh(a);
    }
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      let a = p.dense1_bias[k]!;
      const wo = k * H;
      for (let j = 0; j < H; j++) a += p.dense1_weight[wo + j]! * h[j]!;
      logits[k] = a;
      if (a > max) max = a;
    }
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(logits[k]! - max);
    const label = y[row]!;
    total += max + Math.log(z) - logits[label]!;
    if (grads === null) continue;
    dh.fill(0);
    for (let k = 0; k < K; k++) {
      // d loss / d logit_k = softmax_k - [k == label]
      const g = Math.exp(logits[k]! - max) / z - (k === label ? 1 : 0);
      grads.dense1_bias[k]! += g;
      const wo = k * H;
      for (let j = 0; j < H; j++) {
        grads.dense1_weight[wo + j]! += g * h[j]!;
        dh[j]! += g * p.dense1_weight[wo + j]!;
      }
    }
    for (let j = 0; j < H; j++) {
      const g = dh[j]! * (1 - h[j]! * h[j]!);
      grads.dense0_bias[j]! += g;
      const wo = j * D;
      for (let d = 0; d < D; d++) grads.dense0_weight[wo + d]! += g * x[xo + d]!;
    }
  }
  return total;
}

/** Fraction of `rows` whose arg-max prediction is the label. */
export function mlpAccuracy(
  s: MlpShape,
  p: MlpParams<FloatArray>,
  x: FloatArray,
  y: ArrayLike<number>,
  rows: ArrayLike<number>,
): number {
  const { inputs: D, hidden: H, classes: K } = s;
  const h = new Float64Array(H);
  let right = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let j = 0; j < H; j++) {
      let a = p.dense0_bias[j]!;
      for (let d = 0; d < D; d++) a += p.dense0_weight[j * D + d]! * x[row * D + d]!;
      h[j] = Math.tanh(a);
    }
    let best = 0;
    let bestValue = -Infinity;
    for (let k = 0; k < K; k++) {
      let a = p.dense1_bias[k]!;
      for (let j = 0; j < H; j++) a += p.dense1_weight[k * H + j]! * h[j]!;
      if (a > bestValue) {
        bestValue = a;
        best = k;
      }
    }
    if (best === y[row]) right++;
  }
  return rows.length === 0 ? 0 : right / rows.length;
}
