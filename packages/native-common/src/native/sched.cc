// Thread scheduling policy. V8's compiler and GC helper threads run at the same priority as the
// thread that carries packets; on a machine with few CPUs a TurboFan job (~15 ms for the data
// path's biggest function) holds a CPU for a whole scheduler slice while a packet's thread waits
// to run. SCHED_IDLE threads are preempted as soon as a normal thread wakes.
#include <sched.h>

#include <cerrno>

#include "nebula_native.h"
#include "register.h"

namespace {

// setThreadIdle(tid): SCHED_IDLE for one thread of this process (a tid from /proc/self/task).
Napi::Value SetThreadIdle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setThreadIdle(tid: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t tid = info[0].As<Napi::Number>().Int64Value();
  if (tid <= 0 || tid > 0x3fffffff) {
    Napi::RangeError::New(env, "setThreadIdle: tid out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sched_param param{};
  param.sched_priority = 0;
  if (sched_setscheduler(static_cast<pid_t>(tid), SCHED_IDLE, &param) < 0)
    nebula::ThrowErrno(env, "sched_setscheduler", errno);
  return env.Undefined();
}

}  // namespace

namespace nebula {

void RegisterSched(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreadIdle", Napi::Function::New(env, SetThreadIdle, "setThreadIdle"));
}

}  // namespace nebula
