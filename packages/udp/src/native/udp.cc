// Placeholder module: exports the shared Poller until the package's own syscalls land.
#include "nebula_native.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Poller", nebula::Poller::Define(env));
  return exports;
}

NODE_API_MODULE(udp, Init)
