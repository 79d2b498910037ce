// ops.cc: `run(op, options)`, the single entry point for kernels. It reads a plain options
// object, checks every size and index that memory safety depends on (TypeScript checks them
// first with friendlier messages), and runs the kernel inline when it is small or as an
// AsyncWorker on the libuv pool otherwise, settling a Promise either way. The builders are in kernel_ops.cc and
// file_ops.cc; what they share is op_options.h.
#include "ops.h"

#include <v8.h>

#include <string>
#include <unordered_map>

#include "op_options.h"

namespace gps {

using ops::Builder;
using ops::Job;
using ops::Options;
using ops::ResultKind;

namespace {

// Kernels touching fewer bytes than this run on the calling thread: a thread-pool round trip
// costs more than the work itself.
constexpr int64_t kInlineBytes = 256 * 1024;

const std::unordered_map<std::string, Builder>& Builders() {
  static const std::unordered_map<std::string, Builder> builders = {
      {"fill", ops::BuildFill},
      {"copy", ops::BuildCopy},
      {"cast", ops::BuildCast},
      {"uniform", [](const Options& o, Job& j) { ops::BuildRandom(o, j, false); }},
      {"normal", [](const Options& o, Job& j) { ops::BuildRandom(o, j, true); }},
      {"add_n", ops::BuildAddN},
      {"scale", ops::BuildScale},
      {"axpy", ops::BuildAxpy},
      {"sum_squares", ops::BuildSumSquares},
      {"all_finite", ops::BuildAllFinite},
      {"gather_rows", ops::BuildGatherRows},
      {"scatter_add_rows", ops::BuildScatterAddRows},
      {"optimizer", ops::BuildOptimizer},
      {"write", ops::BuildWrite},
      {"read", ops::BuildRead},
      {"wal_write", ops::BuildWalWrite},
      {"file_read", ops::BuildFileRead},
  };
  return builders;
}

}  // namespace

Napi::Error JsError(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, ErrorCodeName(code)));
  return err;
}

Napi::Error JsError(Napi::Env env, const std::exception& e) { return JsError(env, CodeOf(e), e.what()); }

Napi::Value HostArrayBuffer(Napi::Env env, std::shared_ptr<Storage> storage) {
  // Built with V8's API rather than napi_create_external_arraybuffer on purpose. Node-API ties
  // an external buffer's release to a weak handle with a finalizer, and V8 frees such objects
  // only in a full mark-compact: every 64 MiB read view then lived until one, and since V8
  // also counts each view's length as external memory, one mark-compact ran per pull
  // (measured: twice the server CPU of raw grpc-js per 64 MiB pull). A backing store with its
  // own deleter needs no weak handle, so a dropped view dies young in a scavenge, like any
  // Buffer. V8 may run the deleter on any thread: it only drops a shared_ptr, and Storage's
  // release (free + atomic accounting) is thread-safe.
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  const size_t bytes = storage->bytes();
  v8::Local<v8::ArrayBuffer> buffer;
  if (bytes == 0) {
    buffer = v8::ArrayBuffer::New(isolate, 0);
  } else {
    void* data = storage->data();
    auto* keep = new std::shared_ptr<Storage>(std::move(storage));
    std::unique_ptr<v8::BackingStore> backing = v8::ArrayBuffer::NewBackingStore(
        data, bytes, [](void*, size_t, void* k) { delete static_cast<std::shared_ptr<Storage>*>(k); }, keep);
    buffer = v8::ArrayBuffer::New(isolate, std::move(backing));
  }
  // A napi_value is a v8::Local's slot (node's v8impl::JsValueFromV8LocalValue); the callback's
  // handle scope keeps it alive.
  return Napi::Value(env, reinterpret_cast<napi_value>(*buffer));
}

namespace {

Napi::Value ResultValue(Napi::Env env, Job& job) {
  switch (job.kind) {
    case ResultKind::kNumber: return Napi::Number::New(env, job.number);
    case ResultKind::kBool: return Napi::Boolean::New(env, job.flag);
    case ResultKind::kHostBuffer: return HostArrayBuffer(env, std::move(job.host_result));
    default: return env.Undefined();
  }
}

class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(Napi::Env env, std::unique_ptr<Job> job)
      : Napi::AsyncWorker(env, "gluonps:kernel"), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      job_->run(*job_);
    } catch (const std::exception& e) {
      code_ = CodeOf(e);  // SetError keeps only the message; OnError puts the code back
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(ResultValue(Env(), *job_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(JsError(Env(), code_, e.Message()).Value()); }

 private:
  std::unique_ptr<Job> job_;
  ErrorCode code_ = ErrorCode::kInternal;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto reject = [&](const Napi::Error& err) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(err.Value());
    return d.Promise();
  };
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
    return reject(JsError(env, ErrorCode::kInvalid, "run(op, options): op must be a string and options an object"));
  }
  std::string op = info[0].As<Napi::String>().Utf8Value();
  auto it = Builders().find(op);
  if (it == Builders().end()) return reject(JsError(env, ErrorCode::kInvalid, "run: unknown op '" + op + "'"));
  auto job = std::make_unique<Job>();
  job->op = op;
  try {
    Options opts(env, info[1].As<Napi::Object>(), op);
    it->second(opts, *job);
  } catch (const Napi::Error& e) {
    return reject(e);  // a JS exception met while reading the options: passed on as it was
  } catch (const std::exception& e) {
    return reject(JsError(env, e));
  }
  if (job->work_bytes < kInlineBytes) {
    auto d = Napi::Promise::Deferred::New(env);
    try {
      job->run(*job);
      d.Resolve(ResultValue(env, *job));
    } catch (const std::exception& e) {
      d.Reject(JsError(env, e).Value());
    }
    return d.Promise();
  }
  auto* worker = new JobWorker(env, std::move(job));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace gps
