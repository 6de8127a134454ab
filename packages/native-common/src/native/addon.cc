// native_common.node: the blocking fd wait and eventfd (wait.cc) and thread scheduling (sched.cc).
#include "register.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  nebula::RegisterWait(env, exports);
  nebula::RegisterSched(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(native_common, Init)
