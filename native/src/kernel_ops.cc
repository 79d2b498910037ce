// kernel_ops.cc: the builders of the tensor ops of `run(op, options)` (fill, copy, cast, the
// random fills, add_n, scale, axpy, sum_squares, all_finite, the row gathers and scatters, the
// optimizers, write and read): each checks its options and sets the job's kernel and size.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "op_options.h"

namespace gps::ops {

void BuildFill(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out");
  double value = o.Number("value");
  job.device = out.dev;
  job.work_bytes = out.bytes();
  job.run = [out, value](Job&) { GPS_KERNEL(out.dev, Fill, out.dtype, out.ptr(), out.numel, value); };
}

void BuildCopy(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out"), src = o.GetTensor("src");
  SameDtype(job.op, out, src);
  SameNumel(job.op, out, src);
  job.device = out.dev.type == DeviceType::kGpu ? out.dev : src.dev;
  job.work_bytes = out.bytes() * 2;
  job.run = [out, src](Job&) { CopyBytes(out.dev, out.ptr(), src.dev, src.ptr(), static_cast<size_t>(out.bytes())); };
}

void BuildCast(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out"), src = o.GetTensor("src");
  SameDevice(job.op, out, src);
  SameNumel(job.op, out, src);
  job.device = out.dev;
  job.work_bytes = out.bytes() + src.bytes();
  job.run = [out, src](Job&) {
    if (out.dtype == src.dtype) {
      CopyBytes(out.dev, out.ptr(), src.dev, src.ptr(), static_cast<size_t>(out.bytes()));
    } else {
      GPS_KERNEL(out.dev, Cast, out.dtype, out.ptr(), src.dtype, src.ptr(), out.numel);
    }
  };
}

void BuildRandom(const Options& o, Job& job, bool normal) {
  TensorArg out = o.GetTensor("out");
  double a = normal ? o.Number("mean", 0.0) : o.Number("low", 0.0);
  double b = normal ? o.Number("std", 1.0) : o.Number("high", 1.0);
  uint64_t seed = o.U64("seed", 0), offset = o.U64("offset", 0);
  // Optional: the fill is rows of a bigger tensor (philox.h, CounterMap); the row length must
  // divide the element count, and every counter must fit in 64 bits.
  CounterMap map{o.U64("first_row", 0), o.U64("row_step", 1), o.U64("row_elems", 0)};
  if (map.row_elems != 0) {
    uint64_t n = static_cast<uint64_t>(out.numel);
    if (n % map.row_elems != 0) Fail(job.op, ErrorCode::kInvalid, "row_elems must divide the element count");
    uint64_t rows = n / map.row_elems;
    if (rows > 0) {
      uint64_t last = map.first_row;
      if (map.row_step != 0 && rows - 1 > (UINT64_MAX - last) / map.row_step)
        Fail(job.op, ErrorCode::kInvalid, "the last row's index does not fit in 64 bits");
      last += (rows - 1) * map.row_step;
      if (last > UINT64_MAX / map.row_elems - 1)
        Fail(job.op, ErrorCode::kInvalid, "the last row's counters do not fit in 64 bits");
    }
  }
  job.device = out.dev;
  job.work_bytes = out.bytes() * 8;  // generation is compute-heavy
  job.run = [out, a, b, seed, offset, normal, map](Job&) {
    if (normal) {
      GPS_KERNEL(out.dev, RandomNormal, out.dtype, out.ptr(), out.numel, a, b, seed, offset, map);
    } else {
      GPS_KERNEL(out.dev, RandomUniform, out.dtype, out.ptr(), out.numel, a, b, seed, offset, map);
    }
  };
}

void BuildAddN(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out");
  std::vector<TensorArg> srcs = o.TensorList("srcs");
  if (srcs.empty()) Fail(job.op, ErrorCode::kInvalid, "needs at least one source tensor");
  for (const auto& s : srcs) {
    SameDevice(job.op, out, s);
    SameDtype(job.op, out, s);
    SameNumel(job.op, out, s);
  }
  job.device = out.dev;
  job.work_bytes = out.bytes() * static_cast<int64_t>(srcs.size() + 1);
  job.run = [out, srcs](Job&) {
    std::vector<const void*> ptrs;
    for (const auto& s : srcs) ptrs.push_back(s.ptr());
    GPS_KERNEL(out.dev, AddN, out.dtype, out.ptr(), ptrs.data(), static_cast<int>(ptrs.size()), out.numel);
  };
}

void BuildScale(const Options& o, Job& job) {
  TensorArg x = o.GetTensor("x");
  double alpha = o.Number("alpha");
  job.device = x.dev;
  job.work_bytes = x.bytes() * 2;
  job.run = [x, alpha](Job&) { GPS_KERNEL(x.dev, Scale, x.dtype, x.ptr(), x.numel, alpha); };
}

void BuildAxpy(const Options& o, Job& job) {
  TensorArg y = o.GetTensor("y"), x = o.GetTensor("x");
  double alpha = o.Number("alpha");
  SameDevice(job.op, y, x);
  SameDtype(job.op, y, x);
  SameNumel(job.op, y, x);
  job.device = y.dev;
  job.work_bytes = y.bytes() * 3;
  job.run = [y, x, alpha](Job&) { GPS_KERNEL(y.dev, Axpy, y.dtype, y.ptr(), x.ptr(), y.numel, alpha); };
}

void BuildSumSquares(const Options& o, Job& job) {
  TensorArg x = o.GetTensor("x");
  job.device = x.dev;
  job.work_bytes = x.bytes();
  job.run = [x](Job& j) {
    j.kind = ResultKind::kNumber;
    j.number = GPS_KERNEL(x.dev, SumSquares, x.dtype, x.ptr(), x.numel);
  };
}

void BuildAllFinite(const Options& o, Job& job) {
  TensorArg x = o.GetTensor("x");
  job.device = x.dev;
  job.work_bytes = x.bytes();
  job.run = [x](Job& j) {
    j.kind = ResultKind::kBool;
    j.flag = GPS_KERNEL(x.dev, AllFinite, x.dtype, x.ptr(), x.numel);
  };
}

void BuildGatherRows(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out"), src = o.GetTensor("src");
  std::vector<int64_t> ids = o.Ids("ids");
  SameDevice(job.op, out, src);
  SameDtype(job.op, src, out);
  RequireRowsCompatible(job.op, src, out, ids.size());
  CheckIdsInRange(job.op, ids, src.shape[0]);
  job.device = out.dev;
  job.work_bytes = out.bytes() * 2;
  job.run = [out, src, ids](Job&) {
    GPS_KERNEL(out.dev, GatherRows, out.dtype, out.ptr(), src.ptr(), src.row_elems(), ids.data(),
               static_cast<int64_t>(ids.size()));
  };
}

void BuildScatterAddRows(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out"), rows = o.GetTensor("rows");
  std::vector<int64_t> ids = o.Ids("ids");
  SameDevice(job.op, out, rows);
  SameDtype(job.op, out, rows);
  RequireRowsCompatible(job.op, out, rows, ids.size());
  CheckIdsInRange(job.op, ids, out.shape[0]);
  job.device = out.dev;
  job.work_bytes = rows.bytes() * 3;
  job.run = [out, rows, ids](Job&) {
    // Group sources by target row (stable), so duplicates add in their given order.
    std::vector<int64_t> order(ids.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ids[a] < ids[b]; });
    std::vector<int64_t> targets, offsets{0};
    for (size_t k = 0; k < order.size(); ++k) {
      if (k == 0 || ids[order[k]] != ids[order[k - 1]]) {
        if (k != 0) offsets.push_back(static_cast<int64_t>(k));
        targets.push_back(ids[order[k]]);
      }
    }
    if (!order.empty()) offsets.push_back(static_cast<int64_t>(order.size()));
    ScatterPlan plan{targets.data(), offsets.data(), order.data(), static_cast<int64_t>(targets.size()),
                     static_cast<int64_t>(order.size())};
    int64_t row_elems = out.row_elems();
    GPS_KERNEL(out.dev, ScatterAddRows, out.dtype, out.ptr(), rows.ptr(), row_elems, plan);
  };
}

namespace {

OptimParams ReadOptimParams(const Options& o) {
  double kind_code = o.Number("kind");
  // Range first: casting a huge or NaN double to an integer is undefined behaviour.
  if (!(kind_code >= 0 && kind_code < 1024) || kind_code != static_cast<int>(kind_code) ||
      OptimKindName(static_cast<int32_t>(kind_code)) == nullptr) {
    o.Fail("unknown optimizer kind");
  }
  OptimParams p = DefaultOptimParams(static_cast<OptimKind>(static_cast<int>(kind_code)));
  auto f = [&](const char* key, float& field) { field = static_cast<float>(o.Number(key, field)); };
  auto b = [&](const char* key, bool& field) { field = o.Bool(key, field); };
  f("lr", p.lr); f("wd", p.wd); f("rescaleGrad", p.rescale_grad); f("clipGradient", p.clip_gradient);
  f("momentum", p.momentum); b("nesterov", p.nesterov);
  f("beta1", p.beta1); f("beta2", p.beta2); f("epsilon", p.epsilon); f("eta", p.eta);
  f("gamma1", p.gamma1); f("gamma2", p.gamma2); b("centered", p.centered); f("clipWeights", p.clip_weights);
  f("lamda1", p.lamda1); f("beta", p.beta);
  f("lowerBound", p.lower_bound); f("upperBound", p.upper_bound); b("biasCorrection", p.bias_correction);
  double t = o.Number("t", static_cast<double>(p.t));
  if (!(t >= 1) || t != static_cast<double>(static_cast<int64_t>(t))) o.Fail("option 't' must be an integer >= 1");
  p.t = static_cast<int64_t>(t);
  return p;
}

}  // namespace

void BuildOptimizer(const Options& o, Job& job) {
  OptimParams p = ReadOptimParams(o);
  TensorArg weight = o.GetTensor("weight"), grad = o.GetTensor("grad");
  std::vector<TensorArg> states = o.TensorList("states");
  RequireFloat(job.op, weight);
  SameDevice(job.op, weight, grad);
  SameDtype(job.op, weight, grad);
  int ns = OptimStateCount(p);
  if (static_cast<int>(states.size()) != ns) {
    Fail(job.op, ErrorCode::kInvalid, "needs " + std::to_string(ns) + " state tensors for these settings, got " + std::to_string(states.size()));
  }
  for (const auto& s : states) {
    SameDevice(job.op, weight, s);
    SameDtype(job.op, weight, s);
    SameShape(job.op, weight, s);
  }
  bool lazy = o.Has("ids");
  std::vector<int64_t> ids;
  if (lazy) {
    ids = o.Ids("ids");
    RequireRowsCompatible(job.op, weight, grad, ids.size());
    CheckIdsInRange(job.op, ids, weight.shape[0]);
    for (size_t i = 1; i < ids.size(); ++i) {
      if (ids[i] <= ids[i - 1]) Fail(job.op, ErrorCode::kInvalid, "row ids must be sorted and unique for a lazy update");
    }
  } else {
    SameShape(job.op, weight, grad);
  }
  job.device = weight.dev;
  job.work_bytes = grad.bytes() * (3 + 2 * ns);
  job.run = [p, weight, grad, states, ids, lazy](Job&) {
    void* sp[3] = {nullptr, nullptr, nullptr};
    for (size_t k = 0; k < states.size(); ++k) sp[k] = states[k].ptr();
    RowSelection sel{ids.data(), static_cast<int64_t>(ids.size()), weight.row_elems()};
    GPS_KERNEL(weight.dev, OptimizerUpdate, weight.dtype, p, weight.ptr(), grad.ptr(), sp, weight.numel,
               lazy ? &sel : nullptr);
  };
}

void BuildWrite(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out");
  auto bytes = o.Bytes("bytes", job);
  if (static_cast<int64_t>(bytes.second) != out.bytes()) {
    Fail(job.op, ErrorCode::kShape, "got " + std::to_string(bytes.second) + " bytes, expected " + std::to_string(out.bytes()) + " for " +
                     DTypeName(out.dtype) + " " + ShapeStr(out.shape));
  }
  job.device = out.dev;
  job.work_bytes = out.bytes();
  const uint8_t* src = bytes.first;
  job.run = [out, src](Job&) {
    CopyBytes(out.dev, out.ptr(), Device{DeviceType::kCpu, 0}, src, static_cast<size_t>(out.bytes()));
  };
}

void BuildRead(const Options& o, Job& job) {
  TensorArg src = o.GetTensor("src");
  job.device = src.dev;
  job.work_bytes = src.bytes();
  // The host copy is allocated here (on the JS thread) so allocation errors surface at once.
  // budgeted: false for the server's own copies (checkpoints, log records): counted, never refused.
  auto host = Storage::AllocateStaging(static_cast<size_t>(src.bytes()), o.Bool("budgeted", true));
  job.run = [src, host](Job& j) {
    CopyBytes(host->device(), host->data(), src.dev, src.ptr(), static_cast<size_t>(src.bytes()));
    j.kind = ResultKind::kHostBuffer;
    j.host_result = host;
  };
}

}  // namespace gps::ops
