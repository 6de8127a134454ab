// Shared by every nebula-ts addon. The native layer only does syscalls: errors leave it as a JS
// Error carrying `code` (errno name), `errno` and `syscall`, never as policy.
#pragma once
#include <napi.h>
#include <uv.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace nebula {

// Builds `Error: <syscall> <CODE>: <strerror>` with code/errno/syscall set, like Node's own errors.
inline Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const char* detail = nullptr) {
  const char* code = uv_err_name(uv_translate_sys_error(err));
  std::string msg = std::string(syscall) + " " + code + ": " + std::strerror(err);
  if (detail != nullptr) msg += std::string(" (") + detail + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

inline void ThrowErrno(Napi::Env env, const char* syscall, int err, const char* detail = nullptr) {
  ErrnoError(env, syscall, err, detail).ThrowAsJavaScriptException();
}

// The JS result of a native core that returns a count or -errno (see NativeRead): the count, or
// the errno thrown as `syscall`'s error.
inline Napi::Value CountOrThrow(Napi::Env env, int64_t n, const char* syscall) {
  if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
  ThrowErrno(env, syscall, static_cast<int>(-n));
  return env.Undefined();
}

// Hot-path calls bound to fixed typed arrays. An N-API call made by an idle process costs
// ~15-20 µs before it does any work when it goes through ObjectWrap and typed-array arguments, and
// ~7 µs as a plain function whose state comes from `data`; a data path makes several per packet at
// ping rates. So each addon offers `bindX(arrays...)` returning a function of the counts alone.
// The arrays (and the owning object) are pinned by references for the function's life, freed by
// its finalizer; they must not be transferred while bound.
// If `v` is a typed array of `type`, stores its data and element count.
template <typename T>
bool TypedArrayData(const Napi::Value& v, napi_typedarray_type type, T** data, size_t* length) {
  if (!v.IsTypedArray()) return false;
  auto ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) return false;
  *data = reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  *length = ta.ElementLength();
  return true;
}

struct Pinned {
  std::vector<Napi::Reference<Napi::Value>> refs;

  // TypedArrayData, and `v` stays referenced while this lives.
  template <typename T>
  bool Array(const Napi::Value& v, napi_typedarray_type type, T** data, size_t* length) {
    if (!TypedArrayData(v, type, data, length)) return false;
    refs.push_back(Napi::Persistent(v));
    return true;
  }

  void Keep(const Napi::Value& v) { refs.push_back(Napi::Persistent(v)); }
};

// A function calling `cb` with `state` as its data; `state` is deleted with the function.
template <typename State>
Napi::Function BindFunction(Napi::Env env, const char* name, Napi::Function::Callback cb, State* state) {
  Napi::Function fn = Napi::Function::New(env, cb, name, state);
  fn.AddFinalizer([](Napi::Env, State* s) { delete s; }, state);
  return fn;
}

// Bound batch calls that another addon may run inside its own native call, saving an idle thread
// a return to JS and a call back in per step: the blocking wait (wait.cc) runs a NativeRead as
// soon as poll() reports its fd readable; aead's bound seal runs a NativeSend on what it sealed.
// The addon that owns the call attaches it to its bound function (the `nativeRead` /
// `nativeSend` property) as an External with the struct's tag; users take the function and pin
// it, which keeps the state alive (the External alone does not).
struct NativeRead {
  // Fills the bound batch from `fd` (up to `max` packets of `cap` bytes); returns the count, or
  // -errno when nothing was read because of an error (the plain call would throw it).
  int64_t (*read)(void* state, int fd, uint32_t max, int64_t cap);
  void* state;
  static constexpr const char* kProperty = "nativeRead";
  static constexpr napi_type_tag kTag = {0x6e6562756c615244ULL, 0x4e61746976655231ULL};
};

struct NativeSend {
  // Sends packets 0..count-1 of the bound batch; returns how many it consumed (failed ones
  // included, counted by the socket), or -errno when the arguments do not fit (a bug).
  int64_t (*send)(void* state, uint32_t count);
  void* state;
  static constexpr const char* kProperty = "nativeSend";
  static constexpr napi_type_tag kTag = {0x6e6562756c615244ULL, 0x4e61746976655331ULL};
};

// A NativeRead one call runs after its own work, into a batch its caller takes later: the
// blocking wait's pre-reads (after poll()) and a tun write's follow-up read (the kernel often
// answers a write inside it: an ICMP echo reply, a TCP ACK). `*result` holds the count until the
// caller takes the batch and sets it back to -1; until then the read is not run again, so a
// batch not yet taken is never overwritten.
//
// A result with a second entry lets the caller lower the count per call: result[1] in 1..max-1
// reads at most that many. A tun batch read stops only at EAGAIN, so the lone packet of an idle
// link is sent one read() sooner when the caller asks for one: the empty read that proves the
// queue drained then comes after the packet left, not before.
struct ChainedRead {
  NativeRead* read = nullptr;
  uint32_t max = 0;
  int64_t cap = 0;
  int32_t* result = nullptr;
  const int32_t* limit = nullptr;

  void RunOn(int fd) const {
    if (read == nullptr || *result >= 0) return;
    uint32_t count = max;
    if (limit != nullptr && *limit > 0 && static_cast<uint32_t>(*limit) < max) count = static_cast<uint32_t>(*limit);
    int64_t n = read->read(read->state, fd, count, cap);
    *result = n >= 0 ? static_cast<int32_t>(n) : -1;
  }
};

// Sets fn[T::kProperty] to an External for `call` (which must live as long as `fn`).
template <typename T>
void AttachNative(Napi::Function fn, T* call) {
  Napi::Env env = fn.Env();
  auto ext = Napi::External<T>::New(env, call);
  if (napi_type_tag_object(env, ext, &T::kTag) != napi_ok) return;
  fn.Set(T::kProperty, ext);
}

// The T of a function made by AttachNative<T>, or nullptr.
template <typename T>
T* NativeOf(const Napi::Value& fn) {
  if (!fn.IsFunction()) return nullptr;
  Napi::Value v = fn.As<Napi::Object>().Get(T::kProperty);
  bool tagged = false;
  if (!v.IsExternal() || napi_check_object_type_tag(fn.Env(), v, &T::kTag, &tagged) != napi_ok || !tagged)
    return nullptr;
  return v.As<Napi::External<T>>().Data();
}

// Watches one fd on the loop of the thread that created it (main thread or a worker) and calls
// back once per readiness event; the JS side then drains the fd in batches until EAGAIN.
// No thread per fd, no read in here: policy lives in TypeScript.
class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Poller(const Napi::CallbackInfo& info);
  ~Poller() override;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnClose(uv_handle_t* handle);

  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::Env env_;
};

// (read, max, slotCapacity, result: Int32Array) into `out`, pinning `read` and `result`;
// throws a TypeError / RangeError naming `who` and returns false when they do not fit.
inline bool ParseChainedRead(Napi::Env env, const char* who, const Napi::Value& read, const Napi::Value& max,
                             const Napi::Value& cap, const Napi::Value& result, Pinned* pins, ChainedRead* out) {
  std::string usage = std::string(who) + ": a chained read is (read, max, slotCapacity, result: Int32Array)";
  if (!max.IsNumber() || !cap.IsNumber()) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return false;
  }
  int64_t m = max.As<Napi::Number>().Int64Value();
  int64_t c = cap.As<Napi::Number>().Int64Value();
  NativeRead* r = NativeOf<NativeRead>(read);
  if (r == nullptr) {
    Napi::TypeError::New(env, std::string(who) + ": read has no nativeRead").ThrowAsJavaScriptException();
    return false;
  }
  if (m < 1 || m > 0xffffffffLL || c < 1) {
    Napi::RangeError::New(env, std::string(who) + ": max or slotCapacity out of range").ThrowAsJavaScriptException();
    return false;
  }
  size_t resultLen = 0;
  int32_t* res = nullptr;
  if (!pins->Array(result, napi_int32_array, &res, &resultLen) || resultLen < 1) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return false;
  }
  pins->Keep(read);
  *out = ChainedRead{r, static_cast<uint32_t>(m), c, res, resultLen >= 2 ? res + 1 : nullptr};
  *res = -1;
  return true;
}

}  // namespace nebula
