// Blocking readiness wait for a thread that owns its fds and has nothing else to do (a routine
// worker). Waking through epoll, libuv and MakeCallback into JS costs an idle process tens of µs
// per wake (measured with syscall tracepoints: ~27 µs of a lone packet's tun → udp leg), and a
// ping's round trip takes two wakes; returning from poll() into the loop that called it does not.
// Plus an eventfd, the other thread's way to interrupt the wait.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "nebula_native.h"
#include "register.h"

namespace {

// Bit i of a result stands for fds[i]; a JS number carries 31 bits safely as an int32.
constexpr size_t kMaxFds = 30;

struct WaitSet {
  pollfd fds[kMaxFds];
  nfds_t count;
};

// waitReadable(timeoutMs): bit mask of the fds that are readable (or in error / hung up / closed:
// the read that follows reports which); 0 on timeout or EINTR. timeoutMs < 0 waits forever.
Napi::Value WaitReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* set = static_cast<WaitSet*>(info.Data());
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "waitReadable(timeoutMs: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int timeout = info[0].As<Napi::Number>().Int32Value();
  for (nfds_t i = 0; i < set->count; i++) set->fds[i].revents = 0;
  int rc = poll(set->fds, set->count, timeout < 0 ? -1 : timeout);
  if (rc < 0) {
    if (errno == EINTR) return Napi::Number::New(env, 0);
    nebula::ThrowErrno(env, "poll", errno);
    return env.Undefined();
  }
  uint32_t mask = 0;
  for (nfds_t i = 0; i < set->count; i++) {
    if (set->fds[i].revents != 0) mask |= 1u << i;
  }
  return Napi::Number::New(env, mask);
}

// bindWaitReadable(fds: Int32Array) → waitReadable. The fds are copied: the caller keeps them open
// for the function's life.
Napi::Value BindWaitReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* fds = nullptr;
  size_t n = 0;
  if (info.Length() < 1 || !nebula::TypedArrayData(info[0], napi_int32_array, &fds, &n)) {
    Napi::TypeError::New(env, "bindWaitReadable(fds: Int32Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (n == 0 || n > kMaxFds) {
    Napi::RangeError::New(env, "bindWaitReadable: 1 to 30 fds").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* set = new WaitSet();
  set->count = static_cast<nfds_t>(n);
  for (size_t i = 0; i < n; i++) {
    if (fds[i] < 0) {
      delete set;
      Napi::RangeError::New(env, "bindWaitReadable: fds must be >= 0").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    set->fds[i].fd = fds[i];
    set->fds[i].events = POLLIN;
  }
  return nebula::BindFunction(env, "waitReadable", WaitReadable, set);
}

bool FdArg(const Napi::CallbackInfo& info, const char* usage, int* fd) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return false;
  }
  *fd = info[0].As<Napi::Number>().Int32Value();
  return true;
}

Napi::Value EventFdOpen(const Napi::CallbackInfo& info) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    nebula::ThrowErrno(info.Env(), "eventfd", errno);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value EventFdSignal(const Napi::CallbackInfo& info) {
  int fd;
  if (!FdArg(info, "eventFdSignal(fd: number)", &fd)) return info.Env().Undefined();
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: the reader is already due to wake.
  if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN) nebula::ThrowErrno(info.Env(), "write", errno);
  return info.Env().Undefined();
}

// Resets the counter; returns how many signals it held (0 if none).
Napi::Value EventFdDrain(const Napi::CallbackInfo& info) {
  int fd;
  if (!FdArg(info, "eventFdDrain(fd: number)", &fd)) return info.Env().Undefined();
  uint64_t value = 0;
  if (read(fd, &value, sizeof value) < 0) {
    if (errno == EAGAIN) return Napi::Number::New(info.Env(), 0);
    nebula::ThrowErrno(info.Env(), "read", errno);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), static_cast<double>(value));
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd;
  if (!FdArg(info, "closeFd(fd: number)", &fd)) return info.Env().Undefined();
  if (close(fd) < 0) nebula::ThrowErrno(info.Env(), "close", errno);
  return info.Env().Undefined();
}

}  // namespace

namespace nebula {

void RegisterWait(Napi::Env env, Napi::Object exports) {
  exports.Set("bindWaitReadable", Napi::Function::New(env, BindWaitReadable, "bindWaitReadable"));
  exports.Set("eventFdOpen", Napi::Function::New(env, EventFdOpen, "eventFdOpen"));
  exports.Set("eventFdSignal", Napi::Function::New(env, EventFdSignal, "eventFdSignal"));
  exports.Set("eventFdDrain", Napi::Function::New(env, EventFdDrain, "eventFdDrain"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}

}  // namespace nebula
