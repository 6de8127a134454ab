// Thin syscall shim for @nebula-ts/udp: one AF_INET6 datagram socket per object, recvmmsg /
// sendmmsg over caller-owned arenas, UDP GSO (UDP_SEGMENT cmsg) and GRO (UDP_GRO). Policy (which
// host, how many sockets, when to read) lives in TypeScript; errors leave as errno + syscall.
#include "nebula_native.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace {

// The kernel refuses more than 64 segments per GSO send on older kernels (UDP_MAX_SEGMENTS was
// raised later); 64 keeps us valid everywhere.
constexpr uint32_t kMaxGsoSegments = 64;
// Largest UDP payload of one coalesced send: the whole datagram must fit one IP packet. IPv4
// counts its 20-byte header in the 65535 (65535 - 20 - 8); IPv6 does not (65535 - 8). A run over
// the limit is refused with EMSGSIZE, which would otherwise read as a path-MTU refusal.
constexpr uint32_t kMaxGsoBytesV4 = 65535 - 20 - 8;
constexpr uint32_t kMaxGsoBytesV6 = 65535 - 8;
// One GRO-coalesced datagram can be as large as a full IP packet.
constexpr uint32_t kGroSlot = 65536;
// Consecutive EINVALs on segmented sends before GSO is given up on.
constexpr int kGsoEinvalLimit = 8;

struct alignas(cmsghdr) Ctrl {
  // Room for one int cmsg (UDP_GRO delivers an int; UDP_SEGMENT takes a uint16).
  char data[CMSG_SPACE(sizeof(int))];
};

template <typename T>
bool GetTyped(const Napi::Value& v, T** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  napi_typedarray_type want = std::is_same<T, uint8_t>::value ? napi_uint8_array : napi_uint32_array;
  if (ta.TypedArrayType() != want) return false;
  Napi::ArrayBuffer ab = ta.ArrayBuffer();
  *data = reinterpret_cast<T*>(static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset());
  *len = ta.ElementLength();
  return true;
}

// Address slot: [family 4|6, port, w0, w1, w2, w3]; words are big-endian readings of the bytes.
inline void WriteAddr(uint32_t* a, const sockaddr_in6& sa) {
  const uint8_t* b = sa.sin6_addr.s6_addr;
  a[1] = ntohs(sa.sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&sa.sin6_addr)) {
    a[0] = 4;
    a[2] = (uint32_t(b[12]) << 24) | (uint32_t(b[13]) << 16) | (uint32_t(b[14]) << 8) | b[15];
    a[3] = a[4] = a[5] = 0;
    return;
  }
  a[0] = 6;
  for (int w = 0; w < 4; w++) {
    a[2 + w] = (uint32_t(b[4 * w]) << 24) | (uint32_t(b[4 * w + 1]) << 16) | (uint32_t(b[4 * w + 2]) << 8) |
               b[4 * w + 3];
  }
}

// Returns false on a family that is neither 4 nor 6.
inline bool ReadAddr(const uint32_t* a, sockaddr_in6* sa) {
  std::memset(sa, 0, sizeof(*sa));
  sa->sin6_family = AF_INET6;
  sa->sin6_port = htons(static_cast<uint16_t>(a[1]));
  uint8_t* b = sa->sin6_addr.s6_addr;
  if (a[0] == 4) {
    // The socket is AF_INET6: IPv4 peers are reached through their v4-mapped form.
    b[10] = b[11] = 0xff;
    b[12] = a[2] >> 24;
    b[13] = a[2] >> 16;
    b[14] = a[2] >> 8;
    b[15] = a[2];
    return true;
  }
  if (a[0] != 6) return false;
  for (int w = 0; w < 4; w++) {
    b[4 * w] = a[2 + w] >> 24;
    b[4 * w + 1] = a[2 + w] >> 16;
    b[4 * w + 2] = a[2 + w] >> 8;
    b[4 * w + 3] = a[2 + w];
  }
  return true;
}

inline bool SameAddr(const uint32_t* a, const uint32_t* b) {
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpSocket",
                       {
                           InstanceMethod("localPort", &UdpSocket::LocalPort),
                           InstanceMethod("recvBatch", &UdpSocket::RecvBatch),
                           InstanceMethod("sendBatch", &UdpSocket::SendBatch),
                           InstanceMethod("sendTo", &UdpSocket::SendTo),
                           InstanceMethod("bindRecv", &UdpSocket::BindRecv),
                           InstanceMethod("bindSend", &UdpSocket::BindSend),
                           InstanceMethod("setBuffers", &UdpSocket::SetBuffers),
                           InstanceMethod("getBuffers", &UdpSocket::GetBuffers),
                           InstanceMethod("meminfo", &UdpSocket::Meminfo),
                           InstanceMethod("setGso", &UdpSocket::SetGso),
                           InstanceMethod("setGro", &UdpSocket::SetGro),
                           InstanceMethod("state", &UdpSocket::State),
                           InstanceMethod("close", &UdpSocket::Close),
                           InstanceAccessor("fd", &UdpSocket::Fd, nullptr),
                       });
  }

  // new UdpSocket(addr16: Uint8Array, port, reusePort: boolean, v6only: boolean, batch, blockingSend)
  explicit UdpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpSocket>(info) {
    Napi::Env env = info.Env();
    uint8_t* addr = nullptr;
    size_t addrLen = 0;
    if (info.Length() < 6 || !GetTyped(info[0], &addr, &addrLen) || addrLen != 16 || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "UdpSocket(addr16, port, reusePort, v6only, batch, blockingSend)")
          .ThrowAsJavaScriptException();
      return;
    }
    uint32_t port = info[1].As<Napi::Number>().Uint32Value();
    bool reusePort = info[2].ToBoolean();
    bool v6only = info[3].ToBoolean();
    batch_ = std::max<uint32_t>(1, info[4].ToNumber().Uint32Value());
    blockingSend_ = info[5].ToBoolean();

    // Blocking fd on purpose: sends block briefly under send-buffer pressure (as Go's do),
    // while reads pass MSG_DONTWAIT so the poller-driven drain never stalls.
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) {
      nebula::ThrowErrno(env, "socket", errno);
      return;
    }
    int one = 1;
    int v6 = v6only ? 1 : 0;
    // Explicit rather than inheriting net.ipv6.bindv6only: `::` means dual stack.
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) != 0) {
      int e = errno;
      ::close(fd);
      nebula::ThrowErrno(env, "setsockopt", e, "IPV6_V6ONLY");
      return;
    }
    if (reusePort && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      int e = errno;
      ::close(fd);
      nebula::ThrowErrno(env, "setsockopt", e, "SO_REUSEPORT");
      return;
    }
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(sa.sin6_addr.s6_addr, addr, 16);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      int e = errno;
      ::close(fd);
      nebula::ThrowErrno(env, "bind", e);
      return;
    }
    fd_ = fd;
    // Probe offloads: a kernel that knows UDP_SEGMENT answers the getsockopt.
    int val = 0;
    socklen_t vl = sizeof(val);
    gsoAvail_ = getsockopt(fd_, SOL_UDP, UDP_SEGMENT, &val, &vl) == 0;
    groAvail_ = setsockopt(fd_, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
    if (groAvail_) {
      int zero = 0;
      setsockopt(fd_, SOL_UDP, UDP_GRO, &zero, sizeof(zero));
    }
  }

  ~UdpSocket() override {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  bool CheckOpen(Napi::Env env) {
    if (fd_ >= 0) return true;
    nebula::ThrowErrno(env, "udp", EBADF, "socket is closed");
    return false;
  }

  void Reserve(size_t n) {
    if (msgs_.size() >= n) return;
    msgs_.resize(n);
    iovs_.resize(n);
    names_.resize(n);
    ctrls_.resize(n);
    msgPackets_.resize(n);
    msgSeg_.resize(n);
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  Napi::Value LocalPort(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    sockaddr_in6 sa{};
    socklen_t len = sizeof(sa);
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      nebula::ThrowErrno(env, "getsockname", errno);
      return env.Undefined();
    }
    return Napi::Number::New(env, ntohs(sa.sin6_port));
  }

  // Copies pending GRO segments into slots [slot, max). Returns the next free slot.
  uint32_t DrainGro(uint8_t* buf, const uint32_t* offsets, uint32_t* lengths, uint32_t* addrs, uint32_t slot,
                    uint32_t max, uint32_t cap) {
    while (groMsg_ < groCount_ && slot < max) {
      uint32_t len = groLen_[groMsg_];
      uint32_t seg = groSeg_[groMsg_] != 0 ? groSeg_[groMsg_] : len;
      const uint8_t* src = groBuf_.get() + size_t(groMsg_) * kGroSlot;
      if (len == 0) {
        lengths[slot] = 0;
        WriteAddr(addrs + 6 * slot, groNames_[groMsg_]);
        slot++;
        groMsg_++;
        continue;
      }
      while (groOff_ < len && slot < max) {
        uint32_t l = std::min(seg, len - groOff_);
        uint32_t c = std::min(l, cap);
        std::memcpy(buf + offsets[slot], src + groOff_, c);
        lengths[slot] = c;
        WriteAddr(addrs + 6 * slot, groNames_[groMsg_]);
        slot++;
        groOff_ += l;
      }
      if (groOff_ >= len) {
        groMsg_++;
        groOff_ = 0;
      }
    }
    if (groMsg_ >= groCount_) groCount_ = groMsg_ = groOff_ = 0;
    return slot;
  }

  // recvBatch(buf, offsets, lengths, addrs, max, slotCapacity): number of packets.
  // Without GRO, datagrams land straight in the slots. With GRO, they land in a scratch area
  // first (a coalesced datagram can be 64 KiB) and are split into slots; what does not fit stays
  // pending for the next call, so the caller must call again while it gets `max` back.
  Napi::Value RecvBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    uint8_t* buf;
    uint32_t *offsets, *lengths, *addrs;
    size_t bufLen, offLen, lenLen, addrLen;
    if (info.Length() < 6 || !GetTyped(info[0], &buf, &bufLen) || !GetTyped(info[1], &offsets, &offLen) ||
        !GetTyped(info[2], &lengths, &lenLen) || !GetTyped(info[3], &addrs, &addrLen) || !info[4].IsNumber() ||
        !info[5].IsNumber()) {
      Napi::TypeError::New(env, "recvBatch(buf: Uint8Array, offsets, lengths, addrs: Uint32Array, max, slotCapacity)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return RecvInto(env, buf, bufLen, offsets, offLen, lengths, lenLen, addrs, addrLen,
                    info[4].As<Napi::Number>().Uint32Value(), info[5].As<Napi::Number>().Uint32Value());
  }

  // Whether max and cap fit the arrays: 0 if they do, 1 if max is too large, 2 + i if slot i
  // would run past the buffer.
  static int64_t RecvMisfit(size_t bufLen, const uint32_t* offsets, size_t offLen, size_t lenLen, size_t addrLen,
                            uint32_t max, uint32_t cap) {
    if (max > offLen || max > lenLen || size_t(max) * 6 > addrLen) return 1;
    for (uint32_t i = 0; i < max; i++) {
      if (size_t(offsets[i]) + cap > bufLen) return 2 + i;
    }
    return 0;
  }

  Napi::Value RecvInto(Napi::Env env, uint8_t* buf, size_t bufLen, uint32_t* offsets, size_t offLen, uint32_t* lengths,
                       size_t lenLen, uint32_t* addrs, size_t addrLen, uint32_t max, uint32_t cap) {
    int64_t misfit = RecvMisfit(bufLen, offsets, offLen, lenLen, addrLen, max, cap);
    if (misfit == 1) {
      Napi::RangeError::New(env, "recvBatch: max exceeds offsets/lengths/addrs").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (misfit > 1) {
      Napi::RangeError::New(env, "recvBatch: slot " + std::to_string(misfit - 2) + " exceeds the buffer")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return nebula::CountOrThrow(env, RecvCore(buf, offsets, lengths, addrs, max, cap), "recvmmsg");
  }

  // RecvInto on checked arrays, without JS: the count, or -errno if an error came before any
  // packet.
  int64_t RecvCore(uint8_t* buf, uint32_t* offsets, uint32_t* lengths, uint32_t* addrs, uint32_t max, uint32_t cap) {
    uint32_t slot = 0;
    if (gro_ || groCount_ > 0) {
      slot = DrainGro(buf, offsets, lengths, addrs, 0, max, cap);
      // Bounded: each round either fills slots or ends on EAGAIN / a short read.
      while (gro_ && slot < max) {
        if (!groBuf_) groBuf_.reset(new uint8_t[size_t(batch_) * kGroSlot]);
        uint32_t n = std::min(max - slot, batch_);
        Reserve(n);
        groLen_.resize(std::max<size_t>(groLen_.size(), batch_));
        groSeg_.resize(std::max<size_t>(groSeg_.size(), batch_));
        groNames_.resize(std::max<size_t>(groNames_.size(), batch_));
        for (uint32_t i = 0; i < n; i++) {
          iovs_[i].iov_base = groBuf_.get() + size_t(i) * kGroSlot;
          iovs_[i].iov_len = kGroSlot;
          msghdr& h = msgs_[i].msg_hdr;
          // Own name array: pending segments must keep their source across sendBatch calls.
          h.msg_name = &groNames_[i];
          h.msg_namelen = sizeof(sockaddr_in6);
          h.msg_iov = &iovs_[i];
          h.msg_iovlen = 1;
          h.msg_control = ctrls_[i].data;
          h.msg_controllen = sizeof(ctrls_[i].data);
          h.msg_flags = 0;
        }
        int r = recvmmsg(fd_, msgs_.data(), n, MSG_DONTWAIT, nullptr);
        if (r < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          if (slot > 0) break;  // deliver what we have; the error repeats on the next call
          return -errno;
        }
        for (int i = 0; i < r; i++) {
          msghdr& h = msgs_[i].msg_hdr;
          groLen_[i] = msgs_[i].msg_len;
          groSeg_[i] = 0;
          for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
              int seg;
              std::memcpy(&seg, CMSG_DATA(c), sizeof(seg));
              if (seg > 0 && uint32_t(seg) < groLen_[i]) {
                groSeg_[i] = seg;
                groCoalesced_++;
              }
            }
          }
        }
        groCount_ = r;
        groMsg_ = groOff_ = 0;
        slot = DrainGro(buf, offsets, lengths, addrs, slot, max, cap);
        if (uint32_t(r) < n) break;
      }
      return slot;
    }
    uint32_t n = max;
    Reserve(n);
    for (uint32_t i = 0; i < n; i++) {
      iovs_[i].iov_base = buf + offsets[i];
      iovs_[i].iov_len = cap;
      msghdr& h = msgs_[i].msg_hdr;
      h.msg_name = &names_[i];
      h.msg_namelen = sizeof(sockaddr_in6);
      h.msg_iov = &iovs_[i];
      h.msg_iovlen = 1;
      h.msg_control = nullptr;
      h.msg_controllen = 0;
      h.msg_flags = 0;
    }
    int r;
    do {
      r = recvmmsg(fd_, msgs_.data(), n, MSG_DONTWAIT, nullptr);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    for (int i = 0; i < r; i++) {
      lengths[i] = std::min<uint32_t>(msgs_[i].msg_len, cap);
      WriteAddr(addrs + 6 * i, names_[i]);
    }
    return r;
  }

  // Groups packets [from, count) into sendmmsg entries. With GSO, a run of packets to one address
  // of one size (the last may be shorter) becomes one entry with a UDP_SEGMENT cmsg; the packets'
  // payloads are chained as iovecs (merged where they touch in the arena). Returns entries built.
  int Build(uint8_t* buf, const uint32_t* offsets, const uint32_t* lengths, const uint32_t* addrs, uint32_t from,
            uint32_t count, bool gso, size_t* badPacket) {
    Reserve(count - from);
    if (sendIovs_.size() < count - from) sendIovs_.resize(count - from);
    uint32_t m = 0;
    uint32_t v = 0;
    uint32_t i = from;
    while (i < count) {
      const uint32_t* a = addrs + 6 * i;
      if (!ReadAddr(a, &names_[m])) {
        *badPacket = i;
        return -1;
      }
      uint32_t seg = lengths[i];
      uint32_t total = seg;
      uint32_t segs = 1;
      iovec* first = sendIovs_.data() + v;
      sendIovs_[v].iov_base = buf + offsets[i];
      sendIovs_[v].iov_len = seg;
      v++;
      uint32_t j = i + 1;
      if (gso && seg > 0 && seg <= gsoSegLimit_) {
        const uint32_t maxBytes = a[0] == 4 ? kMaxGsoBytesV4 : kMaxGsoBytesV6;
        while (j < count && segs < kMaxGsoSegments && lengths[j] > 0 && lengths[j] <= seg &&
               total + lengths[j] <= maxBytes && SameAddr(a, addrs + 6 * j)) {
          uint8_t* p = buf + offsets[j];
          iovec& last = sendIovs_[v - 1];
          if (static_cast<uint8_t*>(last.iov_base) + last.iov_len == p) {
            last.iov_len += lengths[j];
          } else {
            sendIovs_[v].iov_base = p;
            sendIovs_[v].iov_len = lengths[j];
            v++;
          }
          total += lengths[j];
          segs++;
          bool shorter = lengths[j] < seg;
          j++;
          if (shorter) break;  // only the last segment may be short
        }
      }
      msghdr& h = msgs_[m].msg_hdr;
      h.msg_name = &names_[m];
      h.msg_namelen = sizeof(sockaddr_in6);
      h.msg_iov = first;
      h.msg_iovlen = sendIovs_.data() + v - first;
      h.msg_flags = 0;
      if (segs > 1) {
        h.msg_control = ctrls_[m].data;
        h.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t s = static_cast<uint16_t>(seg);
        std::memcpy(CMSG_DATA(c), &s, sizeof(s));
      } else {
        h.msg_control = nullptr;
        h.msg_controllen = 0;
      }
      msgPackets_[m] = segs;
      msgSeg_[m] = seg;
      m++;
      i = j;
    }
    return static_cast<int>(m);
  }

  // sendBatch(buf, offsets, lengths, addrs, count): packets consumed (sent, or dropped on a
  // per-destination error, which is counted in state()). Fewer than count only when a
  // non-blocking send hit a full socket buffer.
  Napi::Value SendBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    uint8_t* buf;
    uint32_t *offsets, *lengths, *addrs;
    size_t bufLen, offLen, lenLen, addrLen;
    if (info.Length() < 5 || !GetTyped(info[0], &buf, &bufLen) || !GetTyped(info[1], &offsets, &offLen) ||
        !GetTyped(info[2], &lengths, &lenLen) || !GetTyped(info[3], &addrs, &addrLen) || !info[4].IsNumber()) {
      Napi::TypeError::New(env, "sendBatch(buf: Uint8Array, offsets, lengths, addrs: Uint32Array, count)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return SendFrom(env, buf, bufLen, offsets, offLen, lengths, lenLen, addrs, addrLen,
                    info[4].As<Napi::Number>().Uint32Value());
  }

  // Whether count fits the arrays: 0 if it does, 1 if count is too large, 2 + i if packet i runs
  // past the buffer.
  static int64_t SendMisfit(size_t bufLen, const uint32_t* offsets, size_t offLen, const uint32_t* lengths,
                            size_t lenLen, size_t addrLen, uint32_t count) {
    if (count > offLen || count > lenLen || size_t(count) * 6 > addrLen) return 1;
    for (uint32_t i = 0; i < count; i++) {
      if (size_t(offsets[i]) + lengths[i] > bufLen) return 2 + i;
    }
    return 0;
  }

  Napi::Value SendFrom(Napi::Env env, uint8_t* buf, size_t bufLen, uint32_t* offsets, size_t offLen, uint32_t* lengths,
                       size_t lenLen, uint32_t* addrs, size_t addrLen, uint32_t count) {
    int64_t misfit = SendMisfit(bufLen, offsets, offLen, lengths, lenLen, addrLen, count);
    if (misfit == 1) {
      Napi::RangeError::New(env, "sendBatch: count exceeds offsets/lengths/addrs").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (misfit > 1) {
      Napi::RangeError::New(env, "sendBatch: packet " + std::to_string(misfit - 2) + " exceeds the buffer")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    size_t bad = 0;
    int64_t consumed = SendCore(buf, offsets, lengths, addrs, count, &bad);
    if (consumed < 0) {
      Napi::RangeError::New(env, "sendBatch: address " + std::to_string(bad) + " has a family other than 4 or 6")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, static_cast<double>(consumed));
  }

  // SendFrom on checked arrays, without JS: how many packets were consumed (failed sends are
  // counted, not returned), or -EINVAL with *bad set when an address has an unknown family.
  int64_t SendCore(uint8_t* buf, uint32_t* offsets, uint32_t* lengths, uint32_t* addrs, uint32_t count, size_t* badOut) {
    int flags = blockingSend_ ? 0 : MSG_DONTWAIT;
    uint32_t consumed = 0;
    size_t bad = 0;
    int m = Build(buf, offsets, lengths, addrs, 0, count, gso_, &bad);
    if (m < 0) {
      *badOut = bad;
      return -EINVAL;
    }
    int k = 0;
    // Each round advances k or ends the loop, so it runs at most m + 1 times per build.
    while (k < m) {
      int r = sendmmsg(fd_, msgs_.data() + k, m - k, flags);
      if (r > 0) {
        for (int e = k; e < k + r; e++) {
          consumed += msgPackets_[e];
          if (msgPackets_[e] > 1) {
            gsoEinvalStreak_ = 0;
            gsoSends_++;
          }
        }
        k += r;
        continue;
      }
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if ((err == EIO || err == EINVAL || err == EMSGSIZE) && msgPackets_[k] > 1) {
        // The kernel refused the segmented send; the rest of this batch goes out unsegmented.
        // EIO: the egress path cannot do GSO at all (no checksum offload), so GSO goes off for
        // this socket for good, as wireguard-go does. EMSGSIZE: segment larger than the path MTU
        // (kernels >= 6.14; older ones said EINVAL), so runs of that size stop being coalesced
        // and the kernel fragments them. EINVAL: off after a streak with no GSO success between.
        if (err == EMSGSIZE) {
          gsoSegLimit_ = std::min(gsoSegLimit_, msgSeg_[k] - 1);
        } else if (err == EIO || ++gsoEinvalStreak_ >= kGsoEinvalLimit) {
          gso_ = false;
          gsoDisabledByError_ = err;
        }
        m = Build(buf, offsets, lengths, addrs, consumed, count, false, &bad);
        k = 0;
        continue;
      }
      // One bad destination (unreachable, refused, wrong family for this socket) must not
      // stall the rest of the batch: drop that entry and remember why.
      sendErrors_ += msgPackets_[k];
      lastSendErrno_ = err;
      consumed += msgPackets_[k];
      k++;
    }
    return consumed;
  }

  // ---- bound calls (see nebula::Pinned): bindRecv/bindSend(buf, offsets, lengths, addrs) return
  // recv(max, slotCapacity) / send(count) on those arrays. ----
  struct Bound {
    nebula::Pinned pins;
    UdpSocket* self = nullptr;
    uint8_t* buf = nullptr;
    uint32_t *offsets = nullptr, *lengths = nullptr, *addrs = nullptr;
    size_t bufLen = 0, offLen = 0, lenLen = 0, addrLen = 0;
    nebula::NativeRead native;
    nebula::NativeSend nativeSend;
  };

  // The bound send for native callers (nebula::NativeSend), as BoundSend.
  static int64_t NativeBoundSend(void* state, uint32_t count) {
    auto* b = static_cast<Bound*>(state);
    if (b->self->fd_ < 0) return -EBADF;
    if (SendMisfit(b->bufLen, b->offsets, b->offLen, b->lengths, b->lenLen, b->addrLen, count) != 0) return -EINVAL;
    size_t bad = 0;
    return b->self->SendCore(b->buf, b->offsets, b->lengths, b->addrs, count, &bad);
  }

  // The bound recv for native callers (nebula::NativeRead): the socket's own fd, as BoundRecv.
  static int64_t NativeBoundRecv(void* state, int /* fd */, uint32_t max, int64_t cap) {
    auto* b = static_cast<Bound*>(state);
    if (b->self->fd_ < 0) return -EBADF;
    if (cap < 1 || cap > 0xffffffffLL ||
        RecvMisfit(b->bufLen, b->offsets, b->offLen, b->lenLen, b->addrLen, max, static_cast<uint32_t>(cap)) != 0)
      return -EINVAL;
    return b->self->RecvCore(b->buf, b->offsets, b->lengths, b->addrs, max, static_cast<uint32_t>(cap));
  }

  Napi::Value MakeBound(const Napi::CallbackInfo& info, bool recv) {
    Napi::Env env = info.Env();
    auto* b = new Bound();
    if (info.Length() < 4 || !b->pins.Array(info[0], napi_uint8_array, &b->buf, &b->bufLen) ||
        !b->pins.Array(info[1], napi_uint32_array, &b->offsets, &b->offLen) ||
        !b->pins.Array(info[2], napi_uint32_array, &b->lengths, &b->lenLen) ||
        !b->pins.Array(info[3], napi_uint32_array, &b->addrs, &b->addrLen)) {
      delete b;
      Napi::TypeError::New(env, "(buf: Uint8Array, offsets, lengths, addrs: Uint32Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    b->self = this;
    b->pins.Keep(Value());
    Napi::Function fn = nebula::BindFunction(env, recv ? "recv" : "send", recv ? BoundRecv : BoundSend, b);
    if (recv) {
      b->native = {NativeBoundRecv, b};
      nebula::AttachNative(fn, &b->native);
    } else {
      b->nativeSend = {NativeBoundSend, b};
      nebula::AttachNative(fn, &b->nativeSend);
    }
    return fn;
  }

  Napi::Value BindRecv(const Napi::CallbackInfo& info) { return MakeBound(info, true); }
  Napi::Value BindSend(const Napi::CallbackInfo& info) { return MakeBound(info, false); }

  static Napi::Value BoundRecv(const Napi::CallbackInfo& info) {
    auto* b = static_cast<Bound*>(info.Data());
    Napi::Env env = info.Env();
    if (!b->self->CheckOpen(env)) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "recv(max, slotCapacity)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return b->self->RecvInto(env, b->buf, b->bufLen, b->offsets, b->offLen, b->lengths, b->lenLen, b->addrs,
                             b->addrLen, info[0].As<Napi::Number>().Uint32Value(),
                             info[1].As<Napi::Number>().Uint32Value());
  }

  static Napi::Value BoundSend(const Napi::CallbackInfo& info) {
    auto* b = static_cast<Bound*>(info.Data());
    Napi::Env env = info.Env();
    if (!b->self->CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "send(count)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return b->self->SendFrom(env, b->buf, b->bufLen, b->offsets, b->offLen, b->lengths, b->lenLen, b->addrs,
                             b->addrLen, info[0].As<Napi::Number>().Uint32Value());
  }

  // sendTo(buf, off, len, addrs, i): one datagram, errors thrown (control traffic).
  Napi::Value SendTo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    uint8_t* buf;
    uint32_t* addrs;
    size_t bufLen, addrLen;
    if (info.Length() < 5 || !GetTyped(info[0], &buf, &bufLen) || !info[1].IsNumber() || !info[2].IsNumber() ||
        !GetTyped(info[3], &addrs, &addrLen) || !info[4].IsNumber()) {
      Napi::TypeError::New(env, "sendTo(buf: Uint8Array, off, len, addrs: Uint32Array, i)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t off = info[1].As<Napi::Number>().Uint32Value();
    uint32_t len = info[2].As<Napi::Number>().Uint32Value();
    uint32_t i = info[4].As<Napi::Number>().Uint32Value();
    if (size_t(off) + len > bufLen || size_t(i) * 6 + 6 > addrLen) {
      Napi::RangeError::New(env, "sendTo: packet or address out of range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sockaddr_in6 sa;
    if (!ReadAddr(addrs + 6 * i, &sa)) {
      Napi::RangeError::New(env, "sendTo: address family must be 4 or 6").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ssize_t r;
    do {
      r = sendto(fd_, buf + off, len, blockingSend_ ? 0 : MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      nebula::ThrowErrno(env, "sendto", errno);
      return env.Undefined();
    }
    return Napi::Number::New(env, static_cast<double>(r));
  }

  // setBuffers(read, write): bytes > 0 are applied with the FORCE options (root may exceed
  // rmem_max), falling back to the plain ones on EPERM. 0 leaves a side untouched.
  Napi::Value SetBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    int sizes[2] = {info[0].ToNumber().Int32Value(), info[1].ToNumber().Int32Value()};
    const int force[2] = {SO_RCVBUFFORCE, SO_SNDBUFFORCE};
    const int plain[2] = {SO_RCVBUF, SO_SNDBUF};
    const char* names[2] = {"SO_RCVBUF", "SO_SNDBUF"};
    for (int s = 0; s < 2; s++) {
      if (sizes[s] <= 0) continue;
      if (setsockopt(fd_, SOL_SOCKET, force[s], &sizes[s], sizeof(int)) == 0) continue;
      if (errno != EPERM || setsockopt(fd_, SOL_SOCKET, plain[s], &sizes[s], sizeof(int)) != 0) {
        nebula::ThrowErrno(env, "setsockopt", errno, names[s]);
        return env.Undefined();
      }
    }
    return GetBuffers(info);
  }

  // [SO_RCVBUF, SO_SNDBUF] as the kernel reports them (it doubles what was asked for).
  Napi::Value GetBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    int r = 0, w = 0;
    socklen_t l = sizeof(int);
    if (getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &r, &l) != 0 ||
        (l = sizeof(int), getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &w, &l) != 0)) {
      nebula::ThrowErrno(env, "getsockopt", errno, "SO_RCVBUF/SO_SNDBUF");
      return env.Undefined();
    }
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::Number::New(env, r));
    out.Set(1u, Napi::Number::New(env, w));
    return out;
  }

  // SO_MEMINFO into a Uint32Array (SK_MEMINFO_* order); returns how many words the kernel filled.
  Napi::Value Meminfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    uint32_t* out;
    size_t outLen;
    if (info.Length() < 1 || !GetTyped(info[0], &out, &outLen)) {
      Napi::TypeError::New(env, "meminfo(out: Uint32Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t mem[SK_MEMINFO_VARS + 8] = {};
    socklen_t l = sizeof(mem);
    if (getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, mem, &l) != 0) {
      nebula::ThrowErrno(env, "getsockopt", errno, "SO_MEMINFO");
      return env.Undefined();
    }
    size_t n = std::min<size_t>(outLen, l / sizeof(uint32_t));
    std::memcpy(out, mem, n * sizeof(uint32_t));
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value SetGso(const Napi::CallbackInfo& info) {
    gso_ = gsoAvail_ && info[0].ToBoolean();
    // Turning GSO on again forgets what errors taught us (the path may have changed).
    if (gso_) {
      gsoSegLimit_ = 0xffffffffu;
      gsoEinvalStreak_ = 0;
      gsoDisabledByError_ = 0;
    }
    return Napi::Boolean::New(info.Env(), gso_);
  }

  Napi::Value SetGro(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    bool want = groAvail_ && info[0].ToBoolean();
    int v = want ? 1 : 0;
    if (setsockopt(fd_, SOL_UDP, UDP_GRO, &v, sizeof(v)) != 0) {
      // Some stacks refuse it at runtime (EINVAL/EIO on exotic paths): run without it.
      if (errno != EINVAL && errno != EIO && errno != ENOPROTOOPT) {
        nebula::ThrowErrno(env, "setsockopt", errno, "UDP_GRO");
        return env.Undefined();
      }
      want = false;
    }
    // Segments already read stay pending and are still delivered (DrainGro runs while any remain).
    gro_ = want;
    return Napi::Boolean::New(env, gro_);
  }

  // [gsoAvailable, gso, groAvailable, gro, sendErrors, lastSendErrno, gsoDisabledByErrno,
  //  groCoalesced, pendingGroMessages, gsoSends, gsoSegmentLimit]
  Napi::Value State(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array a = Napi::Array::New(env, 11);
    a.Set(0u, Napi::Boolean::New(env, gsoAvail_));
    a.Set(1u, Napi::Boolean::New(env, gso_));
    a.Set(2u, Napi::Boolean::New(env, groAvail_));
    a.Set(3u, Napi::Boolean::New(env, gro_));
    a.Set(4u, Napi::Number::New(env, static_cast<double>(sendErrors_)));
    a.Set(5u, Napi::Number::New(env, lastSendErrno_));
    a.Set(6u, Napi::Number::New(env, gsoDisabledByError_));
    a.Set(7u, Napi::Number::New(env, static_cast<double>(groCoalesced_)));
    a.Set(8u, Napi::Number::New(env, groCount_ - groMsg_));
    a.Set(9u, Napi::Number::New(env, static_cast<double>(gsoSends_)));
    // Largest segment still coalesced after an EMSGSIZE (path MTU) refusal; -1: no limit.
    a.Set(10u, Napi::Number::New(env, gsoSegLimit_ == 0xffffffffu ? -1.0 : static_cast<double>(gsoSegLimit_)));
    return a;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    groBuf_.reset();
    groCount_ = groMsg_ = groOff_ = 0;
    return info.Env().Undefined();
  }

  int fd_ = -1;
  uint32_t batch_ = 64;
  bool blockingSend_ = true;
  bool gsoAvail_ = false, groAvail_ = false, gso_ = false, gro_ = false;
  int gsoDisabledByError_ = 0;
  int gsoEinvalStreak_ = 0;
  int lastSendErrno_ = 0;
  uint64_t sendErrors_ = 0;
  uint64_t groCoalesced_ = 0;
  uint64_t gsoSends_ = 0;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<iovec> sendIovs_;
  std::vector<sockaddr_in6> names_;
  std::vector<Ctrl> ctrls_;
  std::vector<uint32_t> msgPackets_;
  std::vector<uint32_t> msgSeg_;
  // Segments above this size are not coalesced (learnt from EMSGSIZE).
  uint32_t gsoSegLimit_ = 0xffffffffu;
  std::unique_ptr<uint8_t[]> groBuf_;  // default-initialised: pages are touched only when used
  std::vector<uint32_t> groLen_, groSeg_;
  std::vector<sockaddr_in6> groNames_;
  uint32_t groCount_ = 0, groMsg_ = 0, groOff_ = 0;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Poller", nebula::Poller::Define(env));
  exports.Set("UdpSocket", UdpSocket::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(udp, Init)
