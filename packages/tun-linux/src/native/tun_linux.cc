// Thin syscall shim for Linux tun devices: open/attach queues, a few ioctls, one rtnetlink
// request/ack round trip, and batched read/write loops (offload.cc has the loops for TSO queues).
// Every decision (flags, which routes, MTU arithmetic, netlink message layout) is made in
// TypeScript; errors leave as errno + syscall.
#include "nebula_native.h"
#include "batch_args.h"
#include "tun_offload.h"

#include <fcntl.h>
#include <net/if.h>  // before the linux/ headers: glibc and uapi both define struct ifreq
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace {

using nebula::ThrowErrno;

bool ArgInt(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::Number>().Int64Value();
  return true;
}

bool ArgName(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a string")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  if (out->size() >= IFNAMSIZ) {
    Napi::RangeError::New(info.Env(), "interface name longer than 15 bytes").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// openQueue(name, flags) -> [fd, kernelName]. Empty name: the kernel picks tunN.
Napi::Value OpenQueue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  int64_t flags;
  if (!ArgName(info, 0, &name) || !ArgInt(info, 1, &flags)) return env.Undefined();
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, "open", errno, "/dev/net/tun");
    return env.Undefined();
  }
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = static_cast<short>(flags);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "ioctl", err, "TUNSETIFF");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fd));
  out.Set(1u, Napi::String::New(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ)));
  return out;
}

// TUNGETFEATURES works on an unattached fd, so it needs no privilege.
Napi::Value GetFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, "open", errno, "/dev/net/tun");
    return env.Undefined();
  }
  unsigned int features = 0;
  int rc = ioctl(fd, TUNGETFEATURES, &features);
  int err = errno;
  close(fd);
  if (rc < 0) {
    ThrowErrno(env, "ioctl", err, "TUNGETFEATURES");
    return env.Undefined();
  }
  return Napi::Number::New(env, features);
}

// getQueueInfo(fd) -> [name, flags] via TUNGETIFF (for queues handed over as a bare fd).
Napi::Value GetQueueInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!ArgInt(info, 0, &fd)) return env.Undefined();
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  if (ioctl(static_cast<int>(fd), TUNGETIFF, &ifr) < 0) {
    ThrowErrno(env, "ioctl", errno, "TUNGETIFF");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::String::New(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ)));
  out.Set(1u, Napi::Number::New(env, static_cast<uint16_t>(ifr.ifr_flags)));
  return out;
}

// tunIoctlInt(fd, which, value): TUNSETOFFLOAD (0) or TUNSETVNETHDRSZ (1).
Napi::Value TunIoctlInt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, which, value;
  if (!ArgInt(info, 0, &fd) || !ArgInt(info, 1, &which) || !ArgInt(info, 2, &value)) return env.Undefined();
  int rc;
  if (which == 0) {
    rc = ioctl(static_cast<int>(fd), TUNSETOFFLOAD, static_cast<unsigned long>(value));
    if (rc < 0) ThrowErrno(env, "ioctl", errno, "TUNSETOFFLOAD");
  } else {
    int sz = static_cast<int>(value);
    rc = ioctl(static_cast<int>(fd), TUNSETVNETHDRSZ, &sz);
    if (rc < 0) ThrowErrno(env, "ioctl", errno, "TUNSETVNETHDRSZ");
  }
  return env.Undefined();
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!ArgInt(info, 0, &fd)) return env.Undefined();
  // Linux releases the fd even when close() reports EINTR, so never retry.
  if (close(static_cast<int>(fd)) < 0 && errno != EINTR) ThrowErrno(env, "close", errno);
  return env.Undefined();
}

Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgName(info, 0, &name)) return env.Undefined();
  unsigned int idx = if_nametoindex(name.c_str());
  if (idx == 0) {
    ThrowErrno(env, "if_nametoindex", errno, name.c_str());
    return env.Undefined();
  }
  return Napi::Number::New(env, idx);
}

// ifIoctl(name, op, value): op 0 = SIOCSIFMTU, 1 = SIOCSIFTXQLEN, 2 = set flags (value = flags to
// set, fourth argument = flags to clear; read-modify-write through SIOCGIFFLAGS/SIOCSIFFLAGS).
Napi::Value IfIoctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  int64_t op, value, clear = 0;
  if (!ArgName(info, 0, &name) || !ArgInt(info, 1, &op) || !ArgInt(info, 2, &value)) return env.Undefined();
  if (op == 2 && !ArgInt(info, 3, &clear)) return env.Undefined();
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    ThrowErrno(env, "socket", errno);
    return env.Undefined();
  }
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  int rc = 0;
  const char* what = "";
  if (op == 0) {
    what = "SIOCSIFMTU";
    ifr.ifr_mtu = static_cast<int>(value);
    rc = ioctl(s, SIOCSIFMTU, &ifr);
  } else if (op == 1) {
    what = "SIOCSIFTXQLEN";
    ifr.ifr_qlen = static_cast<int>(value);
    rc = ioctl(s, SIOCSIFTXQLEN, &ifr);
  } else {
    what = "SIOCGIFFLAGS";
    rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
      what = "SIOCSIFFLAGS";
      ifr.ifr_flags = static_cast<short>((ifr.ifr_flags | value) & ~clear);
      rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
  }
  int err = errno;
  close(s);
  if (rc < 0) ThrowErrno(env, "ioctl", err, what);
  return env.Undefined();
}

// netlink(op, message): sends one prebuilt rtnetlink request (built in TS, NLM_F_ACK set) and waits
// for its NLMSG_ERROR ack. A non-zero error becomes an errno error named after `op`, with the
// kernel's extended-ack text when it sent one.
Napi::Value Netlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsTypedArray()) {
    Napi::TypeError::New(env, "netlink(op: string, message: Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string op = info[0].As<Napi::String>().Utf8Value();
  Napi::Uint8Array msg = info[1].As<Napi::Uint8Array>();
  if (msg.ByteLength() < sizeof(struct nlmsghdr)) {
    Napi::RangeError::New(env, "netlink message shorter than its header").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t seq;
  std::memcpy(&seq, msg.Data() + offsetof(struct nlmsghdr, nlmsg_seq), sizeof(seq));
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) {
    ThrowErrno(env, "socket", errno, "NETLINK_ROUTE");
    return env.Undefined();
  }
  int one = 1;
  setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  struct sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof(kernel));
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(s, msg.Data(), msg.ByteLength(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    close(s);
    ThrowErrno(env, "sendto", err, op.c_str());
    return env.Undefined();
  }
  alignas(struct nlmsghdr) char buf[8192];
  // Bounded: the kernel answers a single request with one ack (plus nothing else on this socket).
  for (int tries = 0; tries < 64; tries++) {
    n = recv(s, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(s);
      ThrowErrno(env, "recv", err, op.c_str());
      return env.Undefined();
    }
    for (auto* h = reinterpret_cast<struct nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) {
        close(s);
        return env.Undefined();
      }
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      auto* e = static_cast<struct nlmsgerr*>(NLMSG_DATA(h));
      if (e->error == 0) {
        close(s);
        return env.Undefined();
      }
      std::string detail = op;
      // Extended ack: TLVs after the echoed request header (capped) when NLM_F_ACK_TLVS is set.
      if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
        size_t off = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
        if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
        off = NLMSG_ALIGN(off);
        while (off + sizeof(struct nlattr) <= h->nlmsg_len) {
          auto* a = reinterpret_cast<struct nlattr*>(reinterpret_cast<char*>(h) + off);
          if (a->nla_len < sizeof(struct nlattr) || off + a->nla_len > h->nlmsg_len) break;
          if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            const char* text = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
            detail += ": ";
            detail += std::string(text, strnlen(text, a->nla_len - NLA_HDRLEN));
          }
          off += NLA_ALIGN(a->nla_len);
        }
      }
      close(s);
      ThrowErrno(env, "netlink", -e->error, detail.c_str());
      return env.Undefined();
    }
  }
  close(s);
  ThrowErrno(env, "recv", EPROTO, op.c_str());
  return env.Undefined();
}

using nebula::BatchArgs;

// Reads packet i to buf[offsets[i]] (up to a.cap bytes) until EAGAIN or a.n; lengths[i] gets its
// size. Returns the count, or -errno if an error came before any packet.
int64_t ReadCore(const BatchArgs& a) {
  uint32_t n = 0;
  while (n < a.n) {
    ssize_t r = read(a.fd, a.buf + a.offsets[n], static_cast<size_t>(a.cap));
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // Hand back what we have; the error shows again on the next call.
      if (n == 0) return -errno;
      break;
    }
    a.lengths[n] = static_cast<uint32_t>(r);
    n++;
  }
  return n;
}

Napi::Value ReadLoop(Napi::Env env, const BatchArgs& a) {
  return nebula::CountOrThrow(env, ReadCore(a), "read");
}

// Writes packets 0..a.n-1; returns how many were written, stopping at EAGAIN.
Napi::Value WriteLoop(Napi::Env env, const BatchArgs& a) {
  uint32_t n = 0;
  while (n < a.n) {
    ssize_t r = write(a.fd, a.buf + a.offsets[n], a.lengths[n]);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (n == 0) ThrowErrno(env, "write", errno);
      break;
    }
    n++;
  }
  return Napi::Number::New(env, n);
}

// read(fd, buf, offsets, lengths, max, slotCapacity) -> count.
Napi::Value ReadBatch(const Napi::CallbackInfo& info) {
  BatchArgs a;
  if (!nebula::ParseBatch(info, &a, true)) return info.Env().Undefined();
  return ReadLoop(info.Env(), a);
}

// write(fd, buf, offsets, lengths, count) -> how many were written.
Napi::Value WriteBatch(const Napi::CallbackInfo& info) {
  BatchArgs a;
  if (!nebula::ParseBatch(info, &a, false)) return info.Env().Undefined();
  return WriteLoop(info.Env(), a);
}

// ---- bound calls (see nebula::Pinned): bindRead/bindWrite(buf, offsets, lengths[, thenRead])
// return read(fd, max, slotCapacity) / write(fd, count) on those arrays. ----

struct BoundBatch {
  nebula::Pinned pins;
  BatchArgs a;
  nebula::NativeRead native;
  // A bound write's follow-up read, if it was given one.
  nebula::ChainedRead then;
};

int64_t BoundReadCore(BoundBatch* b) { return ReadCore(b->a); }

Napi::Value BoundRead(const Napi::CallbackInfo& info) {
  auto* b = static_cast<BoundBatch*>(info.Data());
  if (!nebula::ParseBoundBatch(info, &b->a, true)) return info.Env().Undefined();
  return ReadLoop(info.Env(), b->a);
}

Napi::Value BoundWrite(const Napi::CallbackInfo& info) {
  auto* b = static_cast<BoundBatch*>(info.Data());
  Napi::Env env = info.Env();
  if (!nebula::ParseBoundBatch(info, &b->a, false)) return env.Undefined();
  Napi::Value written = WriteLoop(env, b->a);
  if (!env.IsExceptionPending()) b->then.RunOn(b->a.fd);
  return written;
}

Napi::Value Bind(const Napi::CallbackInfo& info, bool read) {
  auto* b = new BoundBatch();
  if (!nebula::BatchArrays(info, 0, &b->a, &b->pins) || (!read && !nebula::FollowReadArg(info, 3, &b->pins, &b->then))) {
    delete b;
    return info.Env().Undefined();
  }
  Napi::Function fn = nebula::BindFunction(info.Env(), read ? "read" : "write", read ? BoundRead : BoundWrite, b);
  if (read) {
    b->native = {nebula::BoundNativeRead<BoundBatch, BoundReadCore>, b};
    nebula::AttachNative(fn, &b->native);
  }
  return fn;
}

Napi::Value BindRead(const Napi::CallbackInfo& info) { return Bind(info, true); }
Napi::Value BindWrite(const Napi::CallbackInfo& info) { return Bind(info, false); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bindRead", Napi::Function::New(env, BindRead, "bindRead"));
  exports.Set("bindWrite", Napi::Function::New(env, BindWrite, "bindWrite"));
  exports.Set("Poller", nebula::Poller::Define(env));
  exports.Set("TunOffload", nebula::TunOffload::Define(env));
  exports.Set("openQueue", Napi::Function::New(env, OpenQueue, "openQueue"));
  exports.Set("getFeatures", Napi::Function::New(env, GetFeatures, "getFeatures"));
  exports.Set("getQueueInfo", Napi::Function::New(env, GetQueueInfo, "getQueueInfo"));
  exports.Set("tunIoctlInt", Napi::Function::New(env, TunIoctlInt, "tunIoctlInt"));
  exports.Set("close", Napi::Function::New(env, CloseFd, "close"));
  exports.Set("ifIndex", Napi::Function::New(env, IfIndex, "ifIndex"));
  exports.Set("ifIoctl", Napi::Function::New(env, IfIoctl, "ifIoctl"));
  exports.Set("netlink", Napi::Function::New(env, Netlink, "netlink"));
  exports.Set("read", Napi::Function::New(env, ReadBatch, "read"));
  exports.Set("write", Napi::Function::New(env, WriteBatch, "write"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tun_linux, Init)
