// A connected pair of SOCK_SEQPACKET sockets. Each write is one message and each read returns one,
// as on a tun queue, so a tun queue object can run over one end while the other end plays the
// kernel (the node's data-path warm-up, tests).
#include <sys/socket.h>

#include <cerrno>

#include "nebula_native.h"
#include "register.h"

namespace {

// packetPair(): [fd, fd], both non-blocking and close-on-exec.
Napi::Value PacketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) {
    nebula::ThrowErrno(env, "socketpair", errno);
    return env.Undefined();
  }
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Number::New(env, fds[0]));
  pair.Set(1u, Napi::Number::New(env, fds[1]));
  return pair;
}

}  // namespace

namespace nebula {

void RegisterPacketPair(Napi::Env env, Napi::Object exports) {
  exports.Set("packetPair", Napi::Function::New(env, PacketPair, "packetPair"));
}

}  // namespace nebula
