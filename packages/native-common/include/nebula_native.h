// Shared by every nebula-ts addon. The native layer only does syscalls: errors leave it as a JS
// Error carrying `code` (errno name), `errno` and `syscall`, never as policy.
#pragma once
#include <napi.h>
#include <uv.h>
#include <cerrno>
#include <cstring>
#include <string>

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

}  // namespace nebula
