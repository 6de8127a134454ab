// Blocking readiness wait for a thread that owns its fds and has nothing else to do (a routine
// worker). Waking through epoll, libuv and MakeCallback into JS costs an idle process tens of µs
// per wake (measured with syscall tracepoints: ~27 µs of a lone packet's tun → udp leg), and a
// ping's round trip takes two wakes; returning from poll() into the loop that called it does not.
// Plus an eventfd, the other thread's way to interrupt the wait. Fds may come with a NativeRead
// (nebula_native.h): when one is readable the wait reads its batch before returning, so a lone
// packet's wake goes from poll() straight into read() as a thread blocked in read() would.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "nebula_native.h"
#include "register.h"

namespace {

// Bit i of a result stands for fds[i]; a JS number carries 31 bits safely as an int32.
constexpr size_t kMaxFds = 30;

// A read run on fds[index] when it is readable.
struct PreRead {
  nebula::ChainedRead read;
  nfds_t index = 0;
};

// One per fd at most; a data-path thread has two (tun and UDP).
constexpr size_t kMaxPreReads = 4;

struct WaitSet {
  pollfd fds[kMaxFds];
  nfds_t count;
  PreRead reads[kMaxPreReads];
  size_t readCount = 0;
  nebula::Pinned pins;
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
  // A batch the caller has not taken yet (result >= 0) is never overwritten. Only plain
  // readability reads: an error or hang-up is left to the caller's own read to report.
  for (size_t k = 0; k < set->readCount; k++) {
    const PreRead& p = set->reads[k];
    const short rev = set->fds[p.index].revents;
    if ((rev & POLLIN) == 0 || (rev & (POLLERR | POLLHUP | POLLNVAL)) != 0) continue;
    p.read.RunOn(set->fds[p.index].fd);
  }
  return Napi::Number::New(env, mask);
}

// One entry of the reads array: [index, read, max, slotCapacity, result: Int32Array].
bool BindRead(Napi::Env env, const Napi::Value& entry, WaitSet* set) {
  const char* usage = "bindWaitReadable: each read is [index, read, max, slotCapacity, result: Int32Array]";
  if (!entry.IsArray() || entry.As<Napi::Array>().Length() < 5) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return false;
  }
  auto e = entry.As<Napi::Array>();
  Napi::Value index = e[0u];
  if (!index.IsNumber()) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return false;
  }
  int64_t i = index.As<Napi::Number>().Int64Value();
  if (i < 0 || static_cast<nfds_t>(i) >= set->count) {
    Napi::RangeError::New(env, "bindWaitReadable: index out of range").ThrowAsJavaScriptException();
    return false;
  }
  for (size_t k = 0; k < set->readCount; k++) {
    if (set->reads[k].index == static_cast<nfds_t>(i)) {
      Napi::RangeError::New(env, "bindWaitReadable: two reads for one fd").ThrowAsJavaScriptException();
      return false;
    }
  }
  PreRead p;
  if (!nebula::ParseChainedRead(env, "bindWaitReadable", e[1u], e[2u], e[3u], e[4u], &set->pins, &p.read)) return false;
  p.index = static_cast<nfds_t>(i);
  set->reads[set->readCount++] = p;
  return true;
}

bool BindReads(Napi::Env env, const Napi::Value& reads, WaitSet* set) {
  if (!reads.IsArray() || reads.As<Napi::Array>().Length() > kMaxPreReads) {
    Napi::TypeError::New(env, "bindWaitReadable: reads must be an array of at most 4").ThrowAsJavaScriptException();
    return false;
  }
  auto a = reads.As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    if (!BindRead(env, a[k], set)) return false;
  }
  return true;
}

// bindWaitReadable(fds: Int32Array[, reads]) → waitReadable. The fds are copied: the caller keeps
// them open for the function's life. Each of `reads` is [index, read, max, slotCapacity, result]:
// `read` is a function carrying a NativeRead, run on fds[index] as above; result[0] gets its
// count. The caller sets result[0] back to -1 once it has taken the batch; until then no wait
// reads that fd again. `read` and `result` are pinned.
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
  if (info.Length() > 1 && !info[1].IsUndefined() && !BindReads(env, info[1], set)) {
    delete set;
    return env.Undefined();
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
