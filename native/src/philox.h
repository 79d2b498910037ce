// philox.h: the Philox4x32-10 counter-based generator and deterministic transforms to uniform
// and normal values. Element i of a fill draws from counter (i, offset) under key seed, so the
// same seed gives the same bits on any device and any thread count. log/cos are evaluated with
// fixed polynomials (not libm) because libm and CUDA's math library may differ in the last ulp.
#pragma once
#include <cstdint>

#include "dtype.h"

namespace gps {

struct Philox4 { uint32_t v[4]; };

GPS_HD uint32_t MulHiLo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

GPS_HD Philox4 Philox4x32_10(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = MulHiLo(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = MulHiLo(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0;
    uint32_t n1 = lo1;
    uint32_t n2 = hi0 ^ c3 ^ k1;
    uint32_t n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// 53 random bits -> [0, 1), exactly representable.
GPS_HD double UnitFromBits(uint32_t hi, uint32_t lo) {
  uint64_t bits = ((static_cast<uint64_t>(hi) << 32) | lo) >> 11;
  return static_cast<double>(bits) * 1.1102230246251565404236316680908203125e-16;  // 2^-53
}

// Natural log for x in (0, 1], by exponent split and an atanh series. Exact same operations
// on every device (the build disables FMA contraction).
GPS_HD double DetLog(double x) {
  uint64_t u = DoubleBits(x);
  int e = static_cast<int>((u >> 52) & 0x7ff) - 1023;
  double m = BitsDouble((u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);  // [1, 2)
  if (m > 1.4142135623730951) { m = m * 0.5; e += 1; }
  double f = m - 1.0;
  double s = f / (2.0 + f);
  double s2 = s * s;
  double poly = 1.0 / 21.0;
  poly = poly * s2 + 1.0 / 19.0;
  poly = poly * s2 + 1.0 / 17.0;
  poly = poly * s2 + 1.0 / 15.0;
  poly = poly * s2 + 1.0 / 13.0;
  poly = poly * s2 + 1.0 / 11.0;
  poly = poly * s2 + 1.0 / 9.0;
  poly = poly * s2 + 1.0 / 7.0;
  poly = poly * s2 + 1.0 / 5.0;
  poly = poly * s2 + 1.0 / 3.0;
  poly = poly * s2 + 1.0;
  return 2.0 * s * poly + static_cast<double>(e) * 0.6931471805599453;
}

// cos(2*pi*u) for u in [0, 1): quadrant from 4u (exact), then Taylor on [0, pi/2).
GPS_HD double DetCos2Pi(double u) {
  double t = u * 4.0;
  int q = static_cast<int>(t);
  double f = t - static_cast<double>(q);  // [0,1)
  bool use_sin = (q & 1) != 0;
  // cos(q*pi/2 + x): q=0 cos x, q=1 -sin x, q=2 -cos x, q=3 sin x
  double x = f * 1.5707963267948966;
  double x2 = x * x;
  double r;
  if (!use_sin) {
    double p = -1.0 / 6402373705728000.0;  // -1/18!
    p = p * x2 + 1.0 / 20922789888000.0;
    p = p * x2 - 1.0 / 87178291200.0;
    p = p * x2 + 1.0 / 479001600.0;
    p = p * x2 - 1.0 / 3628800.0;
    p = p * x2 + 1.0 / 40320.0;
    p = p * x2 - 1.0 / 720.0;
    p = p * x2 + 1.0 / 24.0;
    p = p * x2 - 0.5;
    r = p * x2 + 1.0;
  } else {
    double p = -1.0 / 121645100408832000.0;  // -1/19!
    p = p * x2 + 1.0 / 355687428096000.0;
    p = p * x2 - 1.0 / 1307674368000.0;
    p = p * x2 + 1.0 / 6227020800.0;
    p = p * x2 - 1.0 / 39916800.0;
    p = p * x2 + 1.0 / 362880.0;
    p = p * x2 - 1.0 / 5040.0;
    p = p * x2 + 1.0 / 120.0;
    p = p * x2 - 1.0 / 6.0;
    r = (p * x2 + 1.0) * x;
  }
  return (q == 0 || q == 3) ? r : -r;
}

// Which counter element i of a fill draws from. By default counter i; a fill of some rows of a
// bigger tensor (a shard's part of a split parameter) draws what those rows would draw in the
// whole tensor: local row r = i / row_elems is global row (first_row + r * row_step), so element
// i uses counter (first_row + r * row_step) * row_elems + i % row_elems. row_elems 0 = identity.
struct CounterMap {
  uint64_t first_row;
  uint64_t row_step;
  uint64_t row_elems;
};

GPS_HD uint64_t CounterOf(const CounterMap& m, uint64_t i) {
  if (m.row_elems == 0) return i;
  uint64_t r = i / m.row_elems;
  return (m.first_row + r * m.row_step) * m.row_elems + (i - r * m.row_elems);
}

GPS_HD double RandomUniformAt(uint64_t seed, uint64_t offset, uint64_t i, double low, double high) {
  Philox4 r = Philox4x32_10(i, offset, seed);
  double u = UnitFromBits(r.v[0], r.v[1]);
  return low + (high - low) * u;
}

GPS_HD double RandomNormalAt(uint64_t seed, uint64_t offset, uint64_t i, double mean, double stddev) {
  Philox4 r = Philox4x32_10(i, offset, seed);
  // u1 in (0, 1]: never log(0).
  double u1 = 1.0 - UnitFromBits(r.v[0], r.v[1]);
  double u2 = UnitFromBits(r.v[2], r.v[3]);
  double radius = sqrt(-2.0 * DetLog(u1));
  return mean + stddev * (radius * DetCos2Pi(u2));
}

}  // namespace gps
