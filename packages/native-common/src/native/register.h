// The addon's parts, each registering its functions on the exports object (addon.cc calls them).
#pragma once

#include <napi.h>

namespace nebula {

void RegisterWait(Napi::Env env, Napi::Object exports);
void RegisterSched(Napi::Env env, Napi::Object exports);
void RegisterPacketPair(Napi::Env env, Napi::Object exports);

}  // namespace nebula
