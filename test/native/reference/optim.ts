// optim.ts: a plain TypeScript reference of the optimizer updates the native addon applies, written
// from MXNet 1.x's kernels (src/operator/optimizer_op-inl.h, src/operator/contrib/adamw-inl.h) and
// Python wrappers (python/mxnet/optimizer/optimizer.py, adamW.py). Kernel tests compare against it.
//
// Precision. Every parameter is a float32 (as in the C++ OptimParams and MXNet's operator
// parameters), so it is rounded with Math.fround first. compute: 'float32' (the default) then
// rounds after every +, -, *, / and sqrt, which reproduces IEEE float32 arithmetic exactly (double
// has enough extra bits that this double rounding is harmless), so the result can match the float
// kernels (float32, float16 and bfloat16 storage) bit for bit when they are built without FMA
// contraction; compute: 'float64' is the float64-storage case. For 16-bit storage the caller rounds
// weight and states to the storage type after each call, as the kernel's stores do. Where bit
// equality is not wanted, compare float32 results with rtol 1e-5 / atol 1e-6 (one step) and float64
// results with rtol 1e-12. LAMB's norms are a sum in a device-chosen order: compare LAMB with a
// tolerance, or pass options.norm that sums as the kernel does.
//
// Lazy (row-sparse) updates touch only the given rows: weight, states, and the weight decay of
// those rows; every other row is left exactly as it was (MXNet's lazy_update=True).

export type OptimKindTS = 'sgd' | 'adam' | 'adamw' | 'adagrad' | 'rmsprop' | 'ftrl' | 'lamb';

/** The C++ OptimKind codes. */
export const OPTIM_KIND_CODES: Readonly<Record<OptimKindTS, number>> = {
  sgd: 0,
  adam: 1,
  adamw: 2,
  adagrad: 3,
  rmsprop: 4,
  ftrl: 5,
  lamb: 6,
};

/** Mirrors gps::OptimParams (native/src/optim.h), camelCase. */
export interface OptimParamsTS {
  kind: OptimKindTS;
  lr: number;
  wd: number;
  rescaleGrad: number;
  /** < 0: no clipping; >= 0 clips to [-c, c] (the kernels' test). */
  clipGradient: number;
  momentum: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** AdamW schedule multiplier. */
  eta: number;
  gamma1: number;
  gamma2: number;
  centered: boolean;
  /** < 0: off. */
  clipWeights: number;
  lamda1: number;
  beta: number;
  /** < 0: off. */
  lowerBound: number;
  /** < 0: off. */
  upperBound: number;
  biasCorrection: boolean;
  /** 1-based update count of this tensor; adam/adamw: <= 0 means lr is already bias-corrected. */
  t: number;
}

export type ComputePrecision = 'float32' | 'float64';

export interface ReferenceOptions {
  /** Compute type of the kernel being mirrored: 'float32' (default) or 'float64'. */
  compute?: ComputePrecision;
  /** LAMB only: the L2 norm of a whole tensor (before rounding to the compute type). */
  norm?: (x: Float64Array) => number;
}

/** MXNet's defaults (the Python optimizer class's, where they differ from the operator's). */
export function defaultOptimParams(kind: OptimKindTS): OptimParamsTS {
  const p: OptimParamsTS = {
    kind,
    lr: 0.01,
    wd: 0,
    rescaleGrad: 1,
    clipGradient: -1,
    momentum: 0,
    nesterov: false,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    eta: 1,
    gamma1: 0.9,
    gamma2: 0.9,
    centered: false,
    clipWeights: -1,
    lamda1: 0.01,
    beta: 1,
    lowerBound: -1,
    upperBound: -1,
    biasCorrection: true,
    t: 1,
  };
  switch (kind) {
    case 'sgd':
      break;
    case 'adam':
      p.lr = 0.001;
      break;
    case 'adamw':
      p.lr = 0.001;
      p.epsilon = 1e-6;
      break;
    case 'adagrad':
      p.epsilon = 1e-7;
      break;
    case 'rmsprop':
      p.lr = 0.001;
      break;
    case 'ftrl':
      p.lr = 0.1;
      break;
    case 'lamb':
      p.lr = 0.001;
      p.epsilon = 1e-6;
      break;
  }
  return p;
}

/** State tensors needed, in order: sgd (mom) if momentum > 0; adam/adamw/lamb (mean, var);
 * adagrad (history); rmsprop (n) or (n, g, delta) when centered; ftrl (z, n). */
export function optimStateCount(p: OptimParamsTS): number {
  switch (p.kind) {
    case 'sgd':
      return Math.fround(p.momentum) > 0 ? 1 : 0;
    case 'adam':
    case 'adamw':
    case 'lamb':
    case 'ftrl':
      return 2;
    case 'adagrad':
      return 1;
    case 'rmsprop':
      return p.centered ? 3 : 1;
  }
}

/** Dense update of every element, in place. 'lamb' is delegated to referenceLamb. */
export function referenceUpdate(
  params: OptimParamsTS,
  weight: Float64Array,
  grad: Float64Array,
  states: Float64Array[],
  options: ReferenceOptions = {},
): void {
  if (params.kind === 'lamb') {
    referenceLamb(params, weight, grad, states, options);
    return;
  }
  checkStates(params, weight.length, states);
  if (grad.length !== weight.length) throw new Error(`grad has ${grad.length} elements, weight ${weight.length}`);
  const m = arith(options.compute ?? 'float32');
  const rule = elementRule(resolve(params), m);
  for (let i = 0; i < weight.length; i++) applyAt(rule, m, weight, states, i, grad, i);
}

/** Lazy row-sparse update, in place: gradRows holds one row (rowElems values) per id in rowIds;
 * only those rows of weight and states change. Ids must be unique and in range. */
export function referenceLazyUpdate(
  params: OptimParamsTS,
  weight: Float64Array,
  rowIds: ArrayLike<number> | BigInt64Array,
  gradRows: Float64Array,
  states: Float64Array[],
  rowElems: number,
  options: ReferenceOptions = {},
): void {
  if (params.kind === 'lamb') throw new Error('lamb has no lazy row-sparse update');
  checkStates(params, weight.length, states);
  if (!Number.isInteger(rowElems) || rowElems <= 0 || weight.length % rowElems !== 0) {
    throw new Error(`rowElems ${rowElems} does not divide the weight's ${weight.length} elements`);
  }
  const numRows = weight.length / rowElems;
  if (gradRows.length !== rowIds.length * rowElems) {
    throw new Error(`gradRows has ${gradRows.length} elements, expected ${rowIds.length} x ${rowElems}`);
  }
  const ids = Array.from(rowIds as ArrayLike<number | bigint>, Number);
  const seen = new Set<number>();
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= numRows)
      throw new Error(`row id ${id} is out of range [0, ${numRows})`);
    if (seen.has(id)) throw new Error(`row id ${id} appears twice`);
    seen.add(id);
  }
  const m = arith(options.compute ?? 'float32');
  const rule = elementRule(resolve(params), m);
  ids.forEach((row, k) => {
    for (let j = 0; j < rowElems; j++) applyAt(rule, m, weight, states, row * rowElems + j, gradRows, k * rowElems + j);
  });
}

/** LAMB (lamb_update_phase1, then the norms of the old weight and of the direction over the whole
 * tensor, then lamb_update_phase2), in place. states = (mean, var). */
export function referenceLamb(
  params: OptimParamsTS,
  weight: Float64Array,
  grad: Float64Array,
  states: Float64Array[],
  options: ReferenceOptions = {},
): void {
  if (params.kind !== 'lamb') throw new Error(`referenceLamb called with kind ${params.kind}`);
  checkStates(params, weight.length, states);
  if (grad.length !== weight.length) throw new Error(`grad has ${grad.length} elements, weight ${weight.length}`);
  const m = arith(options.compute ?? 'float32');
  const p = resolve(params);
  const { add, sub, mul, div, sqrt, r } = m;
  const mean = states[0] as Float64Array;
  const vari = states[1] as Float64Array;
  const n = weight.length;
  const w = new Float64Array(n);
  const dir = new Float64Array(n);

  // Phase 1 (LambUpdatePhaseOneKernel). beta^t is std::pow(float beta, int t) stored as DType.
  const beta1T = r(powCorrectlyRounded(p.beta1, p.t));
  const beta2T = r(powCorrectlyRounded(p.beta2, p.t));
  for (let i = 0; i < n; i++) {
    const wi = r(weight[i] as number);
    let g = mul(r(grad[i] as number), p.rescaleGrad);
    if (p.clipGradient >= 0) g = clip(g, p.clipGradient);
    const mi = add(mul(p.beta1, r(mean[i] as number)), mul(sub(1, p.beta1), g));
    const vi = add(mul(p.beta2, r(vari[i] as number)), mul(mul(sub(1, p.beta2), g), g));
    mean[i] = mi;
    vari[i] = vi;
    let d = add(div(mi, add(sqrt(vi), p.epsilon)), mul(p.wd, wi));
    if (p.biasCorrection) {
      const meanHat = r(mi / (1 - beta1T)); // `mean / (1. - beta1_t)`: a double division
      const varHat = div(vi, sub(1, beta2T));
      d = add(div(meanHat, add(sqrt(varHat), p.epsilon)), mul(p.wd, wi));
    }
    w[i] = wi;
    dir[i] = d;
  }

  // Phase 2 (LambUpdatePhaseTwoKernel): r1 = ||w||, r2 = ||dir||, in the compute type.
  const norm = options.norm ?? l2norm;
  const r1 = r(norm(w));
  const r2 = r(norm(dir));
  let newR1 = r1;
  if (p.lowerBound >= 0) newR1 = newR1 > p.lowerBound ? newR1 : p.lowerBound;
  if (p.upperBound >= 0) newR1 = newR1 < p.upperBound ? newR1 : p.upperBound;
  const lr = newR1 === 0 || r2 === 0 ? mul(p.lr, 1) : div(mul(p.lr, newR1), r2);
  for (let i = 0; i < n; i++) weight[i] = sub(w[i] as number, mul(lr, dir[i] as number));
}

// ---------------------------------------------------------------------------------------------

interface Arith {
  r: (x: number) => number;
  add: (a: number, b: number) => number;
  sub: (a: number, b: number) => number;
  mul: (a: number, b: number) => number;
  div: (a: number, b: number) => number;
  sqrt: (a: number) => number;
}

function arith(compute: ComputePrecision): Arith {
  if (compute !== 'float32' && compute !== 'float64') throw new Error(`unknown compute precision ${String(compute)}`);
  const r = compute === 'float32' ? Math.fround : (x: number): number => x;
  return {
    r,
    add: (a, b) => r(a + b),
    sub: (a, b) => r(a - b),
    mul: (a, b) => r(a * b),
    div: (a, b) => r(a / b),
    sqrt: (a) => r(Math.sqrt(a)),
  };
}

// mshadow_op::clip::Map(x, bound); NaN passes through.
function clip(x: number, bound: number): number {
  if (x > bound) return bound;
  if (x < -bound) return -bound;
  return x;
}

// mshadow_op::sign::Map.
function sign(a: number): number {
  if (a < 0) return -1;
  if (a > 0) return 1;
  return 0;
}

function l2norm(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) * (x[i] as number);
  return Math.sqrt(s);
}

// x^t for an integer t >= 0, rounded once to the nearest double: the value a correctly rounded pow
// returns (MXNet's std::pow and Python's ** call glibc's, correctly rounded in all but rare cases;
// V8's Math.pow is an ulp off about 10% of the time, which LAMB's 1 / (1 - beta2^t) can magnify
// 1e4-fold). Exact BigInt arithmetic, the mantissa cut to 320 bits (with a sticky bit) between steps.
export function powCorrectlyRounded(x: number, t: number): number {
  if (!Number.isInteger(t) || t < 0 || !(x > 0) || !Number.isFinite(x)) return Math.pow(x, t);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let baseM = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) baseM |= 1n << 52n;
  let baseE = (biased !== 0 ? biased : 1) - 1075;
  let m = 1n;
  let e = 0;
  const keep = (mant: bigint, exp: number): [bigint, number] => {
    const extra = mant.toString(2).length - 320;
    if (extra <= 0) return [mant, exp];
    const sticky = (mant & ((1n << BigInt(extra)) - 1n)) !== 0n ? 1n : 0n;
    return [(mant >> BigInt(extra)) | sticky, exp + extra];
  };
  for (let k = t; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) [m, e] = keep(m * baseM, e + baseE);
    if (k > 1) [baseM, baseE] = keep(baseM * baseM, baseE * 2);
  }
  // round m * 2^e to a double (nearest, ties to even), subnormals included
  const bits = m.toString(2).length;
  const shift = Math.max(bits - 53, -1074 - e);
  if (shift <= 0) return Number(m) * 2 ** e;
  let q = m >> BigInt(shift);
  const rem = m - (q << BigInt(shift));
  const half = 1n << BigInt(shift - 1);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  const exp = e + shift;
  return exp > 1023 ? Number(q) * 2 ** 1023 * 2 ** (exp - 1023) : exp < -1074 ? 0 : Number(q) * 2 ** exp;
}

// Python computes Adam's bias correction in double from the user's beta (0.9), while the float32
// parameter holds 0.9f: recover the double as the shortest decimal that rounds back to the float.
function intendedDouble(f: number): number {
  if (!Number.isFinite(f) || f === 0) return f;
  for (let digits = 1; digits <= 9; digits++) {
    const d = Number(f.toPrecision(digits));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

type Resolved = OptimParamsTS;

// The parameters as the kernels hold them: float32.
function resolve(p: OptimParamsTS): Resolved {
  if (!Number.isInteger(p.t)) throw new Error(`t must be an integer, got ${p.t}`);
  const f = Math.fround;
  return {
    ...p,
    lr: f(p.lr),
    wd: f(p.wd),
    rescaleGrad: f(p.rescaleGrad),
    clipGradient: f(p.clipGradient),
    momentum: f(p.momentum),
    beta1: f(p.beta1),
    beta2: f(p.beta2),
    epsilon: f(p.epsilon),
    eta: f(p.eta),
    gamma1: f(p.gamma1),
    gamma2: f(p.gamma2),
    clipWeights: f(p.clipWeights),
    lamda1: f(p.lamda1),
    beta: f(p.beta),
    lowerBound: f(p.lowerBound),
    upperBound: f(p.upperBound),
  };
}

function checkStates(p: OptimParamsTS, n: number, states: Float64Array[]): void {
  const want = optimStateCount(p);
  if (states.length !== want) throw new Error(`${p.kind} needs ${want} state arrays, got ${states.length}`);
  states.forEach((s, k) => {
    if (s.length !== n) throw new Error(`state ${k} has ${s.length} elements, weight ${n}`);
  });
}

/** One element: returns the new weight; reads and writes s (the element's states). */
type ElementRule = (w: number, g: number, s: number[]) => number;

function applyAt(
  rule: ElementRule,
  m: Arith,
  weight: Float64Array,
  states: Float64Array[],
  wi: number,
  grad: Float64Array,
  gi: number,
): void {
  const s = states.map((st) => m.r(st[wi] as number));
  weight[wi] = rule(m.r(weight[wi] as number), m.r(grad[gi] as number), s);
  states.forEach((st, k) => {
    st[wi] = s[k] as number;
  });
}

function elementRule(p: Resolved, m: Arith): ElementRule {
  const { add, sub, mul, div, sqrt } = m;
  const clipOn = p.clipGradient >= 0;
  switch (p.kind) {
    case 'sgd': {
      if (!(p.momentum > 0)) {
        // sgd_update (SGDKernel): (1 - lr*wd)*w - lr*clip(rescale*g), or - (lr*rescale)*g unclipped.
        return (w, g) =>
          clipOn
            ? sub(mul(sub(1, mul(p.lr, p.wd)), w), mul(p.lr, clip(mul(p.rescaleGrad, g), p.clipGradient)))
            : sub(mul(sub(1, mul(p.lr, p.wd)), w), mul(mul(p.lr, p.rescaleGrad), g));
      }
      if (!p.nesterov) {
        // sgd_mom_update (SGDMomKernel): mom = momentum*mom - lr*wd*w - lr*grad; w += mom.
        return (w, g, s) => {
          const step = clipOn
            ? mul(p.lr, clip(mul(p.rescaleGrad, g), p.clipGradient))
            : mul(mul(p.lr, p.rescaleGrad), g);
          const mom = sub(sub(mul(p.momentum, s[0] as number), mul(mul(p.lr, p.wd), w)), step);
          s[0] = mom;
          return add(w, mom);
        };
      }
      // nag_mom_update (NAGMomKernel) with out=weight: mom *= momentum;
      // w' = w - mom + (momentum+1)*(mom - lr*(grad + wd*w)); mom -= lr*(grad + wd*w'), because
      // the kernel reads the weight again after writing it. (The NAG docstring and the test
      // suite's PyNAG put wd elsewhere; the kernel is what MXNet runs.)
      return (w, g, s) => {
        const grad = clipOn ? clip(mul(p.rescaleGrad, g), p.clipGradient) : mul(p.rescaleGrad, g);
        const mom = mul(p.momentum, s[0] as number);
        const w2 = add(sub(w, mom), mul(add(p.momentum, 1), sub(mom, mul(p.lr, add(grad, mul(p.wd, w))))));
        s[0] = sub(mom, mul(p.lr, add(grad, mul(p.wd, w2))));
        return w2;
      };
    }
    case 'adam': {
      // Adam.update: lr *= sqrt(1 - beta2^t) / (1 - beta1^t) in double, then adam_update's float lr.
      let lrT = p.lr;
      if (p.t >= 1) {
        const coef1 = 1 - powCorrectlyRounded(intendedDouble(p.beta1), p.t);
        const coef2 = 1 - powCorrectlyRounded(intendedDouble(p.beta2), p.t);
        lrT = Math.fround(intendedDouble(p.lr) * (Math.sqrt(coef2) / coef1));
      }
      // AdamUpdateKernel.
      return (w, g, s) => {
        let gr = add(mul(g, p.rescaleGrad), mul(w, p.wd));
        if (clipOn) gr = clip(gr, p.clipGradient);
        const mean = add(mul(p.beta1, s[0] as number), mul(sub(1, p.beta1), gr));
        const vari = add(mul(p.beta2, s[1] as number), mul(mul(sub(1, p.beta2), gr), gr));
        s[0] = mean;
        s[1] = vari;
        return sub(w, div(mul(lrT, mean), add(sqrt(vari), p.epsilon)));
      };
    }
    case 'adamw': {
      // adamW.py fused_step: adamw_update(lr=1, eta=lr*sqrt(coef2)/coef1); eta is our extra factor.
      // The op skips the update when rescale_grad is 0 or not finite.
      if (!Number.isFinite(p.rescaleGrad) || p.rescaleGrad === 0) return (w) => w;
      let etaD = intendedDouble(p.lr) * intendedDouble(p.eta);
      if (p.t >= 1) {
        const coef1 = 1 - powCorrectlyRounded(intendedDouble(p.beta1), p.t);
        const coef2 = 1 - powCorrectlyRounded(intendedDouble(p.beta2), p.t);
        etaD = (etaD * Math.sqrt(coef2)) / coef1;
      }
      const eta = Math.fround(etaD);
      const lrOp = 1;
      // scalar<DType>(1.f - beta): formed in float32 whatever the compute type.
      const oneMinusBeta1 = Math.fround(1 - p.beta1);
      const oneMinusBeta2 = Math.fround(1 - p.beta2);
      // AdamWUpdate (mshadow expressions).
      return (w, g, s) => {
        let gr = mul(p.rescaleGrad, g);
        if (clipOn) gr = clip(gr, p.clipGradient);
        const mean = add(mul(p.beta1, s[0] as number), mul(oneMinusBeta1, gr));
        const vari = add(mul(p.beta2, s[1] as number), mul(oneMinusBeta2, mul(gr, gr)));
        s[0] = mean;
        s[1] = vari;
        return sub(w, mul(eta, add(div(mul(lrOp, mean), add(sqrt(vari), p.epsilon)), mul(p.wd, w))));
      };
    }
    case 'adagrad':
      // AdaGrad.update, dense path: history += grad^2; w += (grad/sqrt(history+eps) + w*wd) * -lr.
      return (w, g, s) => {
        let gr = mul(g, p.rescaleGrad);
        if (clipOn) gr = clip(gr, p.clipGradient);
        const history = add(s[0] as number, mul(gr, gr));
        s[0] = history;
        const d = div(gr, sqrt(add(history, p.epsilon)));
        return add(w, mul(add(d, mul(w, p.wd)), -p.lr));
      };
    case 'rmsprop': {
      const prep = (w: number, g: number): number => {
        const gr = add(mul(p.rescaleGrad, g), mul(p.wd, w));
        return clipOn ? clip(gr, p.clipGradient) : gr;
      };
      if (!p.centered) {
        // RMSPropUpdateKernel: n = (1-g1)*gr^2 + g1*n; w -= lr * gr / sqrt(n + eps).
        return (w, g, s) => {
          const gr = prep(w, g);
          const n = add(mul(sub(1, p.gamma1), mul(gr, gr)), mul(p.gamma1, s[0] as number));
          s[0] = n;
          const w2 = sub(w, mul(p.lr, div(gr, sqrt(add(n, p.epsilon)))));
          return p.clipWeights >= 0 ? clip(w2, p.clipWeights) : w2;
        };
      }
      // RMSPropAlexUpdateKernel: n, g moving averages; delta = g2*delta - lr*gr/sqrt(n - g^2 + eps).
      return (w, g, s) => {
        const gr = prep(w, g);
        const n = add(mul(mul(sub(1, p.gamma1), gr), gr), mul(p.gamma1, s[0] as number));
        const gm = add(mul(sub(1, p.gamma1), gr), mul(p.gamma1, s[1] as number));
        const delta = sub(mul(p.gamma2, s[2] as number), div(mul(p.lr, gr), sqrt(add(sub(n, mul(gm, gm)), p.epsilon))));
        s[0] = n;
        s[1] = gm;
        s[2] = delta;
        return p.clipWeights >= 0 ? clip(add(w, delta), p.clipWeights) : add(w, delta);
      };
    }
    case 'ftrl':
      // FtrlUpdateKernel.
      return (w, g, s) => {
        let gr = mul(g, p.rescaleGrad);
        if (clipOn) gr = clip(gr, p.clipGradient);
        const n0 = s[1] as number;
        const z = add(s[0] as number, sub(gr, div(mul(sub(sqrt(add(n0, mul(gr, gr))), sqrt(n0)), w), p.lr)));
        const n = add(n0, mul(gr, gr));
        s[0] = z;
        s[1] = n;
        const keep = Math.abs(z) > p.lamda1 ? 1 : 0;
        return mul(div(sub(mul(sign(z), p.lamda1), z), add(div(add(p.beta, sqrt(n)), p.lr), p.wd)), keep);
      };
    case 'lamb':
      throw new Error('lamb is two-phase: use referenceLamb');
  }
}
