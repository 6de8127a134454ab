// native_common.node: the blocking fd wait and eventfd (wait.cc), thread scheduling (sched.cc)
// and packet socket pairs (packet_pair.cc).
#include "register.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  nebula::RegisterWait(env, exports);
  nebula::RegisterSched(env, exports);
  nebula::RegisterPacketPair(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(native_common, Init)
