// optim.h: MXNet 1.x's optimizer update rules, one element at a time, shared by the CPU and the
// CUDA kernels (header-only; every rule body is GPS_HD). Each rule reproduces the arithmetic of
// the MXNet kernel it names, in the same operation order and precision, so that with FMA
// contraction off (g++ -ffp-contract=off, nvcc --fmad=false) the CPU, the GPU and the TypeScript
// reference (test/native/reference/optim.ts) compute the same values. docs/optimizers.md has the
// formulas in plain math.
//
// Sources read (apache/mxnet, 1.x line): src/operator/optimizer_op-inl.h (SGDKernel,
// SGDMomKernel, NAGMomKernel, AdamUpdateKernel, RMSPropUpdateKernel, RMSPropAlexUpdateKernel,
// FtrlUpdateKernel, AdagradDnsRspDnsKernel, LambUpdatePhaseOneKernel, LambUpdatePhaseTwoKernel),
// src/operator/contrib/adamw-inl.h (AdamWUpdate, PrepareInputBlobs), src/operator/mshadow_op.h
// (clip, sign, maximum, minimum, gt, square_root) and python/mxnet/optimizer/optimizer.py (SGD,
// NAG, Adam, AdaGrad, RMSProp, Ftrl, LAMB wrappers) plus python/mxnet/optimizer/adamW.py.
//
// Conventions shared by every rule:
//  - C is the compute type: float for float32/float16/bfloat16 storage, double for float64. As in
//    MXNet, every float parameter is converted to C (static_cast<DType>(param.x)) before use.
//  - g is the RAW gradient element; each rule applies rescale_grad, clip_gradient and wd itself,
//    exactly where its MXNet kernel does. Clipping is on when clip_gradient >= 0 (the kernels'
//    test); MXNet's Python wrappers pass clip_gradient only when it is truthy, so a caller that
//    wants "None/0 means off" maps those to -1. The same holds for clip_weights and LAMB's bounds.
//  - Bias correction: the rules take p.t (1-based count of updates of this tensor, Python's
//    _index_update_count[index]) and apply whatever the Python wrapper would have done with it.
//    For Adam and AdamW a t <= 0 means "no correction": lr (and eta) are used exactly as given,
//    for a caller that has already adjusted them. LAMB passes t to its kernel, as MXNet does.
//  - Rules whose constructor precomputes per-call scalars (AdamRule, AdamWRule) must be built on
//    the host; VisitElementRule does that and the kernels receive the rule by value, so both
//    devices use the same precomputed values. The others may be built anywhere.
#pragma once
#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "dtype.h"

namespace gps {

enum class OptimKind : int32_t { kSgd = 0, kAdam = 1, kAdamW = 2, kAdaGrad = 3, kRmsProp = 4, kFtrl = 5, kLamb = 6 };

// The kind's name (native/binding.ts OptimKindCode, lowercased), or nullptr for a code that is no
// kind. The switch has no default so that -Wswitch flags a kind added without a name; the addon
// exports the table built from it (addon.cc) and TypeScript checks it at load.
inline const char* OptimKindName(int32_t code) {
  switch (static_cast<OptimKind>(code)) {
    case OptimKind::kSgd: return "sgd";
    case OptimKind::kAdam: return "adam";
    case OptimKind::kAdamW: return "adamw";
    case OptimKind::kAdaGrad: return "adagrad";
    case OptimKind::kRmsProp: return "rmsprop";
    case OptimKind::kFtrl: return "ftrl";
    case OptimKind::kLamb: return "lamb";
  }
  return nullptr;
}

// Plain data, trivially copyable: it is passed by value to CUDA kernels.
struct OptimParams {
  OptimKind kind;
  float lr, wd, rescale_grad, clip_gradient;  // clip_gradient < 0: no clipping
  float momentum;                             // sgd; > 0 enables the momentum state
  bool nesterov;                              // sgd: NAG (nag_mom_update) when momentum > 0
  float beta1, beta2, epsilon;                // adam / adamw / lamb; epsilon also adagrad, rmsprop
  float eta;                                  // adamw schedule multiplier (1.0 default)
  float gamma1, gamma2;                       // rmsprop (gamma2 only when centered)
  bool centered;                              // rmsprop: rmspropalex_update (Graves 2013)
  float clip_weights;                         // rmsprop; < 0: off
  float lamda1, beta;                         // ftrl
  float lower_bound, upper_bound;             // lamb trust-ratio bounds on ||w||; < 0: off
  bool bias_correction;                       // lamb
  int64_t t;                                  // 1-based update count of this tensor
};
static_assert(std::is_trivially_copyable<OptimParams>::value, "OptimParams is passed to CUDA kernels by value");

// State tensors (same shape and dtype as the weight) the optimizer needs, in this order:
// sgd: none, or (mom) when momentum > 0; adam/adamw/lamb: (mean, var); adagrad: (history);
// rmsprop: (n), or (n, g, delta) when centered; ftrl: (z, n).
GPS_HD int OptimStateCount(const OptimParams& p) {
  switch (p.kind) {
    case OptimKind::kSgd: return p.momentum > 0.0f ? 1 : 0;
    case OptimKind::kAdam: return 2;
    case OptimKind::kAdamW: return 2;
    case OptimKind::kAdaGrad: return 1;
    case OptimKind::kRmsProp: return p.centered ? 3 : 1;
    case OptimKind::kFtrl: return 2;
    case OptimKind::kLamb: return 2;
  }
  return 0;
}

namespace optim_detail {

// The math MXNet's kernels call (mshadow's math::sqrt / math::fabs): sqrtf/fabsf for float,
// sqrt/fabs for double. All are correctly rounded, on the host and on the device.
GPS_HD float Sqrt(float x) { return ::sqrtf(x); }
GPS_HD double Sqrt(double x) { return ::sqrt(x); }
GPS_HD float Abs(float x) { return ::fabsf(x); }
GPS_HD double Abs(double x) { return ::fabs(x); }

// mshadow_op::clip::Map(x, bound) (NaN passes through).
template <typename C>
GPS_HD C Clip(C x, C bound) {
  if (x > bound) return bound;
  if (x < -bound) return -bound;
  return x;
}

// mshadow_op::sign::Map.
template <typename C>
GPS_HD C Sign(C a) {
  if (a < C(0)) return C(-C(1));
  if (a > C(0)) return C(1);
  return C(0);
}

// Picks the float or the double copy of a precomputed scalar for compute type C.
template <typename C>
GPS_HD C Sel(float f, double d);
template <>
GPS_HD float Sel<float>(float f, double) { return f; }
template <>
GPS_HD double Sel<double>(float, double d) { return d; }

// b^t for an integer t, rounded once to the nearest double in all but vanishingly rare cases: binary
// exponentiation in double-double (~106 bits; products split exactly with fma). It is the value
// MXNet's std::pow(beta, t) (glibc, correctly rounded in ~99.9% of cases) returns, and, being
// plain IEEE operations in a fixed order, it is bit-identical on the host and on the device, so a
// rule built in device code matches one built on the host. (Plain repeated squaring is off by an
// ulp or more most of the time, and LAMB's 1 / (1 - beta2^t) magnifies that up to 1e4-fold.)
GPS_HD double PowInt(double b, int64_t t) {
  bool neg = t < 0;
  uint64_t e = neg ? static_cast<uint64_t>(-(t + 1)) + 1u : static_cast<uint64_t>(t);
  double rh = 1.0, rl = 0.0;  // result, double-double
  double bh = b, bl = 0.0;    // base, double-double
  while (e != 0) {
    if (e & 1u) {
      double p = rh * bh;
      double err = ::fma(rh, bh, -p) + (rh * bl + rl * bh);
      rh = p + err;
      rl = err - (rh - p);
    }
    e >>= 1;
    if (e != 0) {
      double p = bh * bh;
      double err = ::fma(bh, bh, -p) + (bh * bl + bl * bh);
      bh = p + err;
      bl = err - (bh - p);
    }
  }
  return neg ? 1.0 / rh : rh;
}

// Python computes Adam's bias correction in double from the user's own beta (0.9, not 0.9f). The
// float we hold came from that double, so recover it as the shortest decimal that rounds back to
// the float (0.9f -> 0.9), read as a double. Host only (snprintf/strtod).
inline double IntendedDouble(float f) {
  if (!std::isfinite(f) || f == 0.0f) return static_cast<double>(f);
  char buf[40];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, static_cast<double>(f));
    double d = std::strtod(buf, nullptr);
    if (static_cast<float>(d) == f) return d;
  }
  return static_cast<double>(f);
}

}  // namespace optim_detail

// SGD. momentum <= 0: sgd_update (SGDKernel; its lazy form SGDDnsRspKernel is the same
// arithmetic). momentum > 0: sgd_mom_update (SGDMomKernel / SGDMomDnsRspDnsKernel). momentum > 0
// and nesterov: nag_mom_update (NAGMomKernel), as called by Python's NAG (momentum 0 -> sgd_update).
// States: (mom) when momentum > 0. MXNet's mom holds -lr * (the textbook momentum).
// (MXNet >= 1.5 sends dense SGD through multi_sgd_update, whose momentum-free form is
// w + (-(lr*wd)*w - lr*grad): the same math as sgd_update, identical when wd == 0, and otherwise
// possibly a last-bit different. The row-sparse path is sgd_update, as here.)
// Invariant choices (mode, clipping) are template parameters so the per-element loop has no
// branches and vectorizes; VisitElementRule picks the instantiation from the params.
enum SgdMode { kSgdPlain = 0, kSgdMomentum = 1, kSgdNesterov = 2 };
template <int kMode, bool kClip>
struct SgdRuleT {
  OptimParams p;
  GPS_HD explicit SgdRuleT(const OptimParams& params) : p(params) {}

  template <typename C>
  GPS_HD void operator()(C& w, C g, C* s) const {
    using optim_detail::Clip;
    const C lr = C(p.lr), wd = C(p.wd), rescale_grad = C(p.rescale_grad), clip_gradient = C(p.clip_gradient);
    if constexpr (kMode == kSgdPlain) {
      if constexpr (kClip) {
        w = (C(1) - lr * wd) * w - (lr) * Clip(rescale_grad * g, clip_gradient);
      } else {
        w = (C(1) - lr * wd) * w - (lr * rescale_grad) * g;
      }
      return;
    }
    const C momentum = C(p.momentum);
    if constexpr (kMode == kSgdMomentum) {
      if constexpr (kClip) {
        s[0] = momentum * s[0] - lr * wd * w - lr * Clip(rescale_grad * g, clip_gradient);
      } else {
        s[0] = momentum * s[0] - lr * wd * w - lr * rescale_grad * g;
      }
      w = w + s[0];
      return;
    } else {
    // NAGMomKernel. wd enters as grad + wd*w in both statements (the NAG docstring and the test
    // suite's PyNAG leave it out of the (momentum+1) term; the kernel is what runs). Python calls
    // it with out=weight, so the last statement re-reads the weight just written: the momentum's
    // wd term uses the UPDATED weight (MP_NAGMomKernel does so explicitly). Reproduced as is.
    s[0] = momentum * s[0];
    if constexpr (kClip) {
      w = w - s[0] + (momentum + C(1)) * (s[0] - (lr * (Clip(rescale_grad * g, clip_gradient) + (wd * w))));
      s[0] = s[0] - (lr * ((Clip(rescale_grad * g, clip_gradient)) + (wd * w)));
    } else {
      w = w - s[0] + (momentum + C(1)) * (s[0] - (lr * (rescale_grad * g + wd * w)));
      s[0] = s[0] - lr * ((rescale_grad * g) + (wd * w));
    }
    }
  }
};

// Adam: adam_update (AdamUpdateKernel), with Python Adam.update's bias correction folded into lr:
//   lr_t = lr * (sqrt(1 - beta2^t) / (1 - beta1^t))   (double, from the user's betas; then float,
// as the kernel's lr parameter is a float). States: (mean, var). Dense and lazy share this
// arithmetic (AdamDnsRspDnsKernel<gpu> is the same; MXNet's CPU lazy kernel alone forms
// (1 - beta2) * (g * g) when clipping, which can differ in the last bit).
template <bool kClip>
struct AdamRuleT {
  OptimParams p;
  float lr_t;  // the lr the kernel sees

  explicit AdamRuleT(const OptimParams& params) : p(params), lr_t(params.lr) {
    if (p.t >= 1) {
      const double t = static_cast<double>(p.t);
      double lr = optim_detail::IntendedDouble(p.lr);
      double coef1 = 1. - std::pow(optim_detail::IntendedDouble(p.beta1), t);
      double coef2 = 1. - std::pow(optim_detail::IntendedDouble(p.beta2), t);
      lr *= std::sqrt(coef2) / coef1;
      lr_t = static_cast<float>(lr);
    }
  }

  template <typename C>
  GPS_HD void operator()(C& w, C g, C* s) const {
    using optim_detail::Clip;
    using optim_detail::Sqrt;
    const C rescale_grad = C(p.rescale_grad), wd = C(p.wd), clip_gradient = C(p.clip_gradient);
    const C beta1 = C(p.beta1), beta2 = C(p.beta2), lr = C(lr_t), epsilon = C(p.epsilon);
    C grad_rescaled = g * rescale_grad + w * wd;
    if constexpr (kClip) grad_rescaled = Clip(grad_rescaled, clip_gradient);
    s[0] = beta1 * s[0] + (C(1) - beta1) * grad_rescaled;
    s[1] = beta2 * s[1] + (C(1) - beta2) * grad_rescaled * grad_rescaled;
    w = w - lr * s[0] / (Sqrt(s[1]) + epsilon);
  }
};

// AdamW: contrib _adamw_update (adamw-inl.h AdamWUpdate), called as MXNet's AdamW optimizer
// (python/mxnet/optimizer/adamW.py, correct_bias=True) calls it: kernel lr = 1 and
//   eta = (lr * eta) * sqrt(1 - beta2^t) / (1 - beta1^t)          (t <= 0: eta = lr * eta)
// so the whole step, weight decay included, scales with lr (decoupled decay, Loshchilov & Hutter);
// p.eta is an extra schedule multiplier (1 = MXNet's behaviour). t <= 0 matches correct_bias=False
// and GluonNLP's BERTAdam (lr=1, eta=lr). As the op does, a rescale_grad that is 0 or not finite
// skips the update (weight and states untouched). States: (mean, var).
template <bool kClip>
struct AdamWRuleT {
  OptimParams p;
  float lr_op;   // the kernel's lr: 1
  float eta_op;  // the kernel's eta
  float one_minus_beta1, one_minus_beta2;  // scalar<DType>(1.f - beta): formed in float

  explicit AdamWRuleT(const OptimParams& params)
      : p(params),
        lr_op(1.0f),
        eta_op(0.0f),
        one_minus_beta1(1.f - params.beta1),
        one_minus_beta2(1.f - params.beta2) {
    double lr = optim_detail::IntendedDouble(p.lr) * optim_detail::IntendedDouble(p.eta);
    if (p.t >= 1) {
      const double t = static_cast<double>(p.t);
      double coef1 = 1. - std::pow(optim_detail::IntendedDouble(p.beta1), t);
      double coef2 = 1. - std::pow(optim_detail::IntendedDouble(p.beta2), t);
      lr = lr * std::sqrt(coef2) / coef1;
    }
    eta_op = static_cast<float>(lr);
  }

  template <typename C>
  GPS_HD void operator()(C& w, C g, C* s) const {
    using optim_detail::Clip;
    using optim_detail::Sqrt;
    const C clip_gradient = C(p.clip_gradient);
    C grad = C(p.rescale_grad) * g;
    if constexpr (kClip) grad = Clip(grad, clip_gradient);
    s[0] = C(p.beta1) * s[0] + C(one_minus_beta1) * grad;
    s[1] = C(p.beta2) * s[1] + C(one_minus_beta2) * (grad * grad);
    w = w - C(eta_op) * (C(lr_op) * s[0] / (Sqrt(s[1]) + C(p.epsilon)) + (C(p.wd) * w));
  }
};

// AdaGrad: Python AdaGrad.update's dense path (NDArray ops, each rounded to C):
//   grad = clip(grad * rescale_grad); history += grad^2; div = grad / sqrt(history + eps);
//   weight += (div + weight * wd) * -lr
// With wd == 0 this is bit-identical to the row-sparse op _sparse_adagrad_update
// (AdagradDnsRspDnsKernel: w - div * lr), which MXNet refuses when wd != 0. States: (history).
template <bool kClip>
struct AdaGradRuleT {
  OptimParams p;
  GPS_HD explicit AdaGradRuleT(const OptimParams& params) : p(params) {}

  template <typename C>
  GPS_HD void operator()(C& w, C g, C* s) const {
    using optim_detail::Clip;
    using optim_detail::Sqrt;
    const C clip_gradient = C(p.clip_gradient);
    C grad = g * C(p.rescale_grad);
    if constexpr (kClip) grad = Clip(grad, clip_gradient);
    s[0] = s[0] + grad * grad;
    const C div = grad / Sqrt(s[0] + C(p.epsilon));
    w = w + (div + w * C(p.wd)) * C(-p.lr);
  }
};

// RMSProp. centered == false: rmsprop_update (RMSPropUpdateKernel, Tieleman & Hinton), states (n).
// centered == true: rmspropalex_update (RMSPropAlexUpdateKernel, Graves 2013), states (n, g, delta).
// epsilon sits inside the square root, as in those kernels.
template <bool kCentered, bool kClip, bool kClipWeights>
struct RmsPropRuleT {
  OptimParams p;
  GPS_HD explicit RmsPropRuleT(const OptimParams& params) : p(params) {}

  template <typename C>
  GPS_HD void operator()(C& w, C g, C* s) const {
    using optim_detail::Clip;
    using optim_detail::Sqrt;
    const C rescale_grad = C(p.rescale_grad), wd = C(p.wd), clip_gradient = C(p.clip_gradient);
    const C gamma1 = C(p.gamma1), lr = C(p.lr), epsilon = C(p.epsilon), clip_weights = C(p.clip_weights);
    C grad_rescaled = rescale_grad * g + wd * w;
    if constexpr (kClip) grad_rescaled = Clip(grad_rescaled, clip_gradient);
    if constexpr (!kCentered) {
      s[0] = (C(1) - gamma1) * (grad_rescaled * grad_rescaled) + gamma1 * s[0];
      C weight = w - lr * (grad_rescaled / Sqrt(s[0] + epsilon));
      if constexpr (kClipWeights) weight = Clip(weight, clip_weights);
      w = weight;
      return;
    } else {
    const C gamma2 = C(p.gamma2);
    s[0] = (C(1) - gamma1) * grad_rescaled * grad_rescaled + gamma1 * s[0];
    s[1] = (C(1) - gamma1) * grad_rescaled + gamma1 * s[1];
    s[2] = gamma2 * s[2] - (lr * (grad_rescaled) / (Sqrt(s[0] - s[1] * s[1] + epsilon)));
    if constexpr (kClipWeights) {
      w = Clip(w + s[2], clip_weights);
    } else {
      w = w + s[2];
    }
    }
  }
};

// FTRL-Proximal: ftrl_update (FtrlUpdateKernel; FtrlDnsRspDnsKernel is the same arithmetic).
// States: (z, n).
template <bool kClip>
struct FtrlRuleT {
  OptimParams p;
  GPS_HD explicit FtrlRuleT(const OptimParams& params) : p(params) {}

  template <typename C>
  GPS_HD void operator()(C& w, C g, C* s) const {
    using optim_detail::Abs;
    using optim_detail::Clip;
    using optim_detail::Sign;
    using optim_detail::Sqrt;
    const C clip_gradient = C(p.clip_gradient), lr = C(p.lr), wd = C(p.wd);
    const C lamda1 = C(p.lamda1), beta = C(p.beta);
    C grad_rescaled = g * C(p.rescale_grad);
    if constexpr (kClip) grad_rescaled = Clip(grad_rescaled, clip_gradient);
    C& z = s[0];
    C& n = s[1];
    z = z + (grad_rescaled - (Sqrt(n + grad_rescaled * grad_rescaled) - Sqrt(n)) * w / lr);
    n = n + grad_rescaled * grad_rescaled;
    w = (Sign(z) * lamda1 - z) / ((beta + Sqrt(n)) / lr + wd) * (Abs(z) > lamda1 ? C(1) : C(0));
  }
};

// LAMB phase 1: lamb_update_phase1 (LambUpdatePhaseOneKernel). Updates (mean, var) and returns the
// update direction. The kernel's beta^t is std::pow(float beta, int t) stored in C; here PowInt
// (correctly rounded, identical on host and device). The constructor is GPS_HD and cheap, so the
// rule may be built inside a kernel. bias_correction needs t >= 1 (t = 0 divides by zero, as in
// MXNet).
struct LambPhase1Rule {
  OptimParams p;
  double beta1_t_d, beta2_t_d;  // beta^t as the kernel holds it for C = double ...
  float beta1_t_f, beta2_t_f;   // ... and for C = float

  GPS_HD explicit LambPhase1Rule(const OptimParams& params)
      : p(params),
        beta1_t_d(optim_detail::PowInt(static_cast<double>(params.beta1), params.t)),
        beta2_t_d(optim_detail::PowInt(static_cast<double>(params.beta2), params.t)),
        beta1_t_f(static_cast<float>(beta1_t_d)),
        beta2_t_f(static_cast<float>(beta2_t_d)) {}

  template <typename C>
  GPS_HD C operator()(C w, C g, C* s) const {
    using optim_detail::Clip;
    using optim_detail::Sqrt;
    const C clip_gradient = C(p.clip_gradient), beta1 = C(p.beta1), beta2 = C(p.beta2);
    const C epsilon = C(p.epsilon), wd = C(p.wd);
    C grad_rescaled = g * C(p.rescale_grad);
    if (clip_gradient >= C(0)) grad_rescaled = Clip(grad_rescaled, clip_gradient);
    s[0] = beta1 * s[0] + (C(1) - beta1) * grad_rescaled;
    s[1] = beta2 * s[1] + (C(1) - beta2) * grad_rescaled * grad_rescaled;
    C dir = s[0] / (Sqrt(s[1]) + epsilon) + wd * w;
    if (p.bias_correction) {
      const C beta1_t = optim_detail::Sel<C>(beta1_t_f, beta1_t_d);
      const C beta2_t = optim_detail::Sel<C>(beta2_t_f, beta2_t_d);
      // `mean / (1. - beta1_t)`: the literal is a double, so this division is done in double.
      const C mean_hat = static_cast<C>(static_cast<double>(s[0]) / (1. - static_cast<double>(beta1_t)));
      const C var_hat = s[1] / (C(1) - beta2_t);
      dir = mean_hat / (Sqrt(var_hat) + epsilon) + wd * w;
    }
    return dir;
  }
};

// LAMB phase 2 (LambUpdatePhaseTwoKernel), given r1 = ||w||_2 (the weight before this update)
// and r2 = ||dir||_2 over the whole tensor. Returns the TRUST-SCALED LEARNING RATE the kernel
// multiplies dir by: r1 is clamped to [lower_bound, upper_bound] (each bound only when >= 0); then
// lr * r1 / r2, or lr when either norm is 0. (MXNet forms (lr * r1) / r2, so the bare ratio r1/r2
// cannot reproduce its rounding; this value already contains lr.)
template <typename C>
GPS_HD C LambTrustRatio(const OptimParams& p, C r1, C r2) {
  const C lower_bound = C(p.lower_bound), upper_bound = C(p.upper_bound);
  C lr = C(p.lr);
  C new_r1 = r1;
  if (lower_bound >= C(0)) new_r1 = new_r1 > lower_bound ? new_r1 : lower_bound;  // maximum::Map
  if (upper_bound >= C(0)) new_r1 = new_r1 < upper_bound ? new_r1 : upper_bound;  // minimum::Map
  if (new_r1 == C(0) || r2 == C(0)) {
    lr = lr * C(1);
  } else {
    lr = lr * new_r1 / r2;
  }
  return lr;
}

// LAMB phase 2 per element: w - ratio * dir, where ratio is LambTrustRatio's value (lr included).
template <typename C>
GPS_HD C LambPhase2(const OptimParams& /*p*/, C w, C dir, C ratio) {
  return w - ratio * dir;
}

// Calls v(rule) once, with the element rule for p.kind, built here on the host. LAMB is two-phase
// (LambPhase1Rule, LambTrustRatio, LambPhase2) and throws here, as does an unknown kind.
// Leaves weight and states as they are (AdamW's skip on a zero or non-finite rescale_grad).
struct NoopRule {
  template <typename C>
  GPS_HD void operator()(C&, C, C*) const {}
};

namespace optim_detail {
template <typename Fn>
void WithBool(bool value, Fn&& fn) {
  if (value) fn(std::integral_constant<bool, true>{});
  else fn(std::integral_constant<bool, false>{});
}
}  // namespace optim_detail

// Calls v(rule) once, with the element rule for p.kind built here on the host and its invariant
// choices fixed at compile time. LAMB is two-phase (LambPhase1Rule, LambTrustRatio, LambPhase2)
// and throws here, as does an unknown kind.
template <typename Visitor>
void VisitElementRule(const OptimParams& p, Visitor&& v) {
  using optim_detail::WithBool;
  const bool clip = p.clip_gradient >= 0.0f;
  switch (p.kind) {
    case OptimKind::kSgd: {
      WithBool(clip, [&](auto c) {
        if (!(p.momentum > 0.0f)) v(SgdRuleT<kSgdPlain, decltype(c)::value>(p));
        else if (!p.nesterov) v(SgdRuleT<kSgdMomentum, decltype(c)::value>(p));
        else v(SgdRuleT<kSgdNesterov, decltype(c)::value>(p));
      });
      return;
    }
    case OptimKind::kAdam:
      WithBool(clip, [&](auto c) { v(AdamRuleT<decltype(c)::value>(p)); });
      return;
    case OptimKind::kAdamW:
      if (!std::isfinite(p.rescale_grad) || p.rescale_grad == 0.0f) { v(NoopRule{}); return; }
      WithBool(clip, [&](auto c) { v(AdamWRuleT<decltype(c)::value>(p)); });
      return;
    case OptimKind::kAdaGrad:
      WithBool(clip, [&](auto c) { v(AdaGradRuleT<decltype(c)::value>(p)); });
      return;
    case OptimKind::kRmsProp:
      WithBool(p.centered, [&](auto centered) {
        WithBool(clip, [&](auto c) {
          WithBool(p.clip_weights >= 0.0f, [&](auto cw) {
            v(RmsPropRuleT<decltype(centered)::value, decltype(c)::value, decltype(cw)::value>(p));
          });
        });
      });
      return;
    case OptimKind::kFtrl:
      WithBool(clip, [&](auto c) { v(FtrlRuleT<decltype(c)::value>(p)); });
      return;
    case OptimKind::kLamb:
      throw CodedError(ErrorCode::kInternal, "optimizer lamb is two-phase: use LambPhase1Rule, LambTrustRatio and LambPhase2");
  }
  throw CodedError(ErrorCode::kInternal, "unknown optimizer kind " + std::to_string(static_cast<int32_t>(p.kind)));
}

// MXNet's defaults for each optimizer (the Python class's, where it differs from the operator's):
// lr sgd/adagrad 0.01, adam/adamw/rmsprop/lamb 0.001, ftrl 0.1; epsilon adam/rmsprop 1e-8,
// adagrad 1e-7, adamw/lamb 1e-6; rmsprop gamma1 0.9 (the class, not the op's 0.95); no clipping.
inline OptimParams DefaultOptimParams(OptimKind kind) {
  OptimParams p{};
  p.kind = kind;
  p.lr = 0.01f;
  p.wd = 0.0f;
  p.rescale_grad = 1.0f;
  p.clip_gradient = -1.0f;
  p.momentum = 0.0f;
  p.nesterov = false;
  p.beta1 = 0.9f;
  p.beta2 = 0.999f;
  p.epsilon = 1e-8f;
  p.eta = 1.0f;
  p.gamma1 = 0.9f;
  p.gamma2 = 0.9f;
  p.centered = false;
  p.clip_weights = -1.0f;
  p.lamda1 = 0.01f;
  p.beta = 1.0f;
  p.lower_bound = -1.0f;
  p.upper_bound = -1.0f;
  p.bias_correction = true;
  p.t = 1;
  switch (kind) {
    case OptimKind::kSgd: break;
    case OptimKind::kAdam: p.lr = 0.001f; break;
    case OptimKind::kAdamW: p.lr = 0.001f; p.epsilon = 1e-6f; break;
    case OptimKind::kAdaGrad: p.epsilon = 1e-7f; break;
    case OptimKind::kRmsProp: p.lr = 0.001f; break;
    case OptimKind::kFtrl: p.lr = 0.1f; break;
    case OptimKind::kLamb: p.lr = 0.001f; p.epsilon = 1e-6f; break;
  }
  return p;
}

}  // namespace gps
