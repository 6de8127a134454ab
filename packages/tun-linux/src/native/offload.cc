// TCP segmentation offload for a tun queue opened with IFF_VNET_HDR and TUN_F_CSUM|TUN_F_TSO4.
//
// This is the one place the addon looks inside packets, and only because it must: with offloads
// on, the kernel hands over TCP segments of up to 64 KiB and packets whose checksum it left to
// us, and per-packet work in JS (a checksum over 1.3 KB costs microseconds there) would undo what
// the offload saves. So read() splits super-segments into MTU-sized packets and completes partial
// checksums; write() merges consecutive in-order segments of one TCP flow into one GSO write (the
// GRO that a NIC driver would do). To the caller both look like plain IPv4 packets in its arena.
// wireguard-go does the same in Go (tun/offload_linux.go); this is our own implementation.
#include "tun_offload.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checksum code assumes little endian");

namespace nebula {
namespace {

constexpr size_t kVnetLen = sizeof(virtio_net_hdr);  // 10
constexpr size_t kMaxPacket = 65535;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20,
                  kEce = 0x40, kCwr = 0x80;

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
         p[3];
}
inline void PutBe16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// One's-complement sum in memory order (little-endian words): folding and storing the result
// with memcpy yields the right bytes on the wire. `p` must start at an even offset of the region.
inline uint64_t Sum(const uint8_t* p, size_t n, uint64_t acc) {
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n != 0) acc += *p;
  return acc;
}

inline uint16_t Fold(uint64_t acc) {
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

// IPv4 pseudo header (addresses straight from the packet, protocol and length in network order).
inline uint64_t Pseudo(const uint8_t* ip, uint8_t proto, uint32_t l4len) {
  uint64_t acc = Sum(ip + 12, 8, 0);
  uint16_t w = htons(proto);
  acc += w;
  w = htons(static_cast<uint16_t>(l4len));
  return acc + w;
}

inline void SetIpChecksum(uint8_t* ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  uint16_t c = static_cast<uint16_t>(~Fold(Sum(ip, ihl, 0)));
  std::memcpy(ip + 10, &c, 2);
}

}  // namespace

Napi::Function TunOffload::Define(Napi::Env env) {
  return DefineClass(env, "TunOffload",
                     {InstanceMethod("read", &TunOffload::Read), InstanceMethod("write", &TunOffload::Write),
                      InstanceMethod("plan", &TunOffload::Plan),
                      InstanceMethod("bindRead", &TunOffload::BindRead),
                      InstanceMethod("bindWrite", &TunOffload::BindWrite),
                      InstanceMethod("stats", &TunOffload::Stats)});
}

TunOffload::TunOffload(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<TunOffload>(info), scratch_(new uint8_t[kVnetLen + kMaxPacket + 64]) {}

// ---- read: kernel → caller ----

// Finishes a CHECKSUM_PARTIAL packet: the kernel left the pseudo-header sum in the checksum
// field; the sum from csum_start to the end goes there, complemented.
bool TunOffload::CompleteChecksum(uint8_t* p, size_t len, const virtio_net_hdr& h) {
  size_t start = h.csum_start, at = start + h.csum_offset;
  if (start >= len || at + 2 > len || (start & 1) != 0) return false;
  uint16_t c = static_cast<uint16_t>(~Fold(Sum(p + start, len - start, 0)));
  // A UDP checksum that comes out 0 is sent as 0xffff (0 means "none").
  if (c == 0 && start >= 20 && p[9] == IPPROTO_UDP) c = 0xffff;
  std::memcpy(p + at, &c, 2);
  csumCompleted_++;
  return true;
}

// Validates a TCPV4 super-segment in the scratch area and makes it pending.
bool TunOffload::StartSegments(uint8_t* p, size_t len, const virtio_net_hdr& h, size_t cap) {
  if (len < 40 || (p[0] >> 4) != 4 || p[9] != IPPROTO_TCP) return false;
  size_t ihl = (p[0] & 0x0f) * 4u;
  if (ihl < 20 || ihl + 20 > len) return false;
  size_t doff = (p[ihl + 12] >> 4) * 4u;
  size_t hlen = ihl + doff;
  if (doff < 20 || hlen >= len || h.gso_size == 0 || hlen + h.gso_size > cap) return false;
  seg_ = p;
  segLen_ = len;
  segHdr_ = hlen;
  segIhl_ = ihl;
  segSize_ = h.gso_size;
  segNext_ = 0;
  segCount_ = static_cast<uint32_t>((len - hlen + h.gso_size - 1) / h.gso_size);
  superReads_++;
  return true;
}

// Copies pending segments into slots [slot, max); returns the next free slot.
uint32_t TunOffload::DrainSegments(const BatchArgs& a, uint32_t slot, uint32_t max) {
  const uint8_t* src = seg_;
  const size_t ihl = segIhl_, hlen = segHdr_, payload = segLen_ - hlen;
  const uint16_t id0 = Be16(src + 4);
  const uint32_t seq0 = Be32(src + ihl + 4);
  while (segNext_ < segCount_ && slot < max) {
    uint32_t k = segNext_++;
    size_t from = static_cast<size_t>(k) * segSize_;
    size_t n = std::min<size_t>(segSize_, payload - from);
    uint8_t* d = a.buf + a.offsets[slot];
    std::memcpy(d, src, hlen);
    std::memcpy(d + hlen, src + hlen + from, n);
    PutBe16(d + 2, static_cast<uint32_t>(hlen + n));
    PutBe16(d + 4, static_cast<uint16_t>(id0 + k));
    SetIpChecksum(d, ihl);
    uint8_t* t = d + ihl;
    PutBe32(t + 4, seq0 + static_cast<uint32_t>(from));
    // As the kernel's own segmentation: FIN and PSH only on the last segment, CWR only on the first.
    if (k + 1 < segCount_) t[13] &= static_cast<uint8_t>(~(kFin | kPsh));
    if (k > 0) t[13] &= static_cast<uint8_t>(~kCwr);
    t[16] = t[17] = 0;
    size_t l4 = hlen - ihl + n;
    uint16_t c = static_cast<uint16_t>(~Fold(Sum(t, l4, Pseudo(d, IPPROTO_TCP, static_cast<uint32_t>(l4)))));
    std::memcpy(t + 16, &c, 2);
    a.lengths[slot++] = static_cast<uint32_t>(hlen + n);
    segmentsOut_++;
  }
  if (segNext_ >= segCount_) seg_ = nullptr;
  return slot;
}

// read(fd, buf, offsets, lengths, max, slotCapacity) -> count. Like the plain read, except that a
// super-segment may fill many slots; what does not fit stays pending, so the caller calls again
// while it gets `max` back (it does anyway: a full batch means "maybe more").
Napi::Value TunOffload::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchArgs a;
  if (!ParseBatch(info, &a, true)) return env.Undefined();
  return ReadInto(env, a);
}

Napi::Value TunOffload::ReadInto(Napi::Env env, const BatchArgs& a) {
  return nebula::CountOrThrow(env, ReadCore(a), "read");
}

int64_t TunOffload::ReadCore(const BatchArgs& a) {
  uint32_t n = seg_ != nullptr ? DrainSegments(a, 0, a.n) : 0;
  while (n < a.n) {
    ssize_t r = read(a.fd, scratch_.get(), kVnetLen + kMaxPacket);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (n == 0) return -errno;
      break;
    }
    if (static_cast<size_t>(r) <= kVnetLen) {
      readDropped_++;
      continue;
    }
    virtio_net_hdr h;
    std::memcpy(&h, scratch_.get(), kVnetLen);
    uint8_t* p = scratch_.get() + kVnetLen;
    size_t len = static_cast<size_t>(r) - kVnetLen;
    uint8_t gso = h.gso_type & static_cast<uint8_t>(~VIRTIO_NET_HDR_GSO_ECN);
    if (gso == VIRTIO_NET_HDR_GSO_NONE) {
      if (((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 && !CompleteChecksum(p, len, h)) ||
          len > static_cast<size_t>(a.cap)) {
        readDropped_++;
        continue;
      }
      std::memcpy(a.buf + a.offsets[n], p, len);
      a.lengths[n++] = static_cast<uint32_t>(len);
    } else if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && StartSegments(p, len, h, static_cast<size_t>(a.cap))) {
      n = DrainSegments(a, n, a.n);
    } else {
      // Only TSO4 is offered to the kernel; anything else is a packet we cannot forward whole.
      readDropped_++;
    }
  }
  return n;
}

// ---- write: caller → kernel ----

// What makes packet `p` a candidate to start or join a merged write: IPv4 without options or
// fragments, TCP carrying data with only ACK (and PSH on the last) set, valid checksums.
bool TunOffload::Mergeable(const uint8_t* p, uint32_t len, uint32_t* hlen) const {
  if (len < 40 || p[0] != 0x45 || p[9] != IPPROTO_TCP || Be16(p + 2) != len || (Be16(p + 6) & 0x3fff) != 0)
    return false;
  const uint8_t* t = p + 20;
  uint32_t h = 20 + (t[12] >> 4) * 4u;
  if (h < 40 || h >= len) return false;
  uint8_t flags = t[13];
  if ((flags & (kFin | kSyn | kRst | kUrg | kEce | kCwr)) != 0 || (flags & kAck) == 0) return false;
  // Merged data is trusted by the kernel (CHECKSUM_PARTIAL), so each part must check out first.
  if (Fold(Sum(p, 20, 0)) != 0xffff) return false;
  if (Fold(Sum(t, len - 20, Pseudo(p, IPPROTO_TCP, len - 20))) != 0xffff) return false;
  *hlen = h;
  return true;
}

// Can `q` follow the run that started at `first` and so far carries `bytes` of payload?
bool TunOffload::Follows(const uint8_t* first, uint32_t hlen, uint32_t bytes, const uint8_t* q, uint32_t qlen,
                         uint32_t qhlen) const {
  if (qhlen != hlen) return false;
  // Same flow, TOS, TTL and DF (bytes 1, 6-9 masked to DF, 12-19); same ports, ack, window and options.
  if (first[1] != q[1] || first[8] != q[8] || (first[6] & 0x40) != (q[6] & 0x40) ||
      std::memcmp(first + 12, q + 12, 8) != 0)
    return false;
  const uint8_t *ft = first + 20, *qt = q + 20;
  if (std::memcmp(ft, qt, 4) != 0 || std::memcmp(ft + 8, qt + 8, 4) != 0 || std::memcmp(ft + 14, qt + 14, 2) != 0 ||
      std::memcmp(ft + 20, qt + 20, hlen - 40) != 0)
    return false;
  return Be32(qt + 4) == Be32(ft + 4) + bytes;
}

// One writev: either a lone packet behind an empty vnet header, or a merged run of `k` packets
// behind a GSO header and a rewritten copy of the first packet's headers.
ssize_t TunOffload::WriteRun(int fd, const BatchArgs& a, uint32_t i, uint32_t k, uint32_t hlen, uint32_t bytes) {
  virtio_net_hdr h{};
  const uint8_t* first = a.buf + a.offsets[i];
  size_t iovcnt;
  if (k == 1) {
    iov_[0] = {&h, kVnetLen};
    iov_[1] = {const_cast<uint8_t*>(first), a.lengths[i]};
    iovcnt = 2;
  } else {
    const uint8_t* last = a.buf + a.offsets[i + k - 1];
    std::memcpy(head_, first, hlen);
    PutBe16(head_ + 2, hlen + bytes);
    SetIpChecksum(head_, 20);
    uint8_t* t = head_ + 20;
    t[13] = static_cast<uint8_t>(t[13] | (last[33] & kPsh));
    // CHECKSUM_PARTIAL: the field holds the pseudo-header sum; the kernel never needs the rest for
    // local delivery and computes it per segment when it forwards.
    uint16_t c = Fold(Pseudo(head_, IPPROTO_TCP, hlen - 20 + bytes));
    std::memcpy(t + 16, &c, 2);
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h.hdr_len = static_cast<uint16_t>(hlen);
    h.gso_size = static_cast<uint16_t>(a.lengths[i] - hlen);
    h.csum_start = 20;
    h.csum_offset = 16;
    iov_[0] = {&h, kVnetLen};
    iov_[1] = {head_, hlen};
    for (uint32_t j = 0; j < k; j++)
      iov_[2 + j] = {a.buf + a.offsets[i + j] + hlen, a.lengths[i + j] - hlen};
    iovcnt = 2 + k;
  }
  ssize_t r;
  do {
    r = writev(fd, iov_, static_cast<int>(iovcnt));
  } while (r < 0 && errno == EINTR);
  return r;
}

// How many packets from `i` on form one merged write (1: write `i` alone). A run ends at a short
// segment, a PSH, 64 KiB or kMaxRun parts.
uint32_t TunOffload::RunFrom(const BatchArgs& a, uint32_t i, uint32_t* hlen, uint32_t* bytes) const {
  const uint8_t* p = a.buf + a.offsets[i];
  uint32_t len = a.lengths[i], k = 1;
  *bytes = 0;
  if (!merge_ || !Mergeable(p, len, hlen)) return 1;
  const uint32_t gso = len - *hlen;
  *bytes = gso;
  while ((p[33] & kPsh) == 0 && i + k < a.n && k < kMaxRun) {
    const uint8_t* q = a.buf + a.offsets[i + k];
    uint32_t qlen = a.lengths[i + k], qh = 0;
    if (!Mergeable(q, qlen, &qh) || !Follows(p, *hlen, *bytes, q, qlen, qh)) break;
    uint32_t qp = qlen - qh;
    if (qp > gso || *hlen + *bytes + qp > kMaxPacket) break;
    *bytes += qp;
    k++;
    if (qp < gso || (q[33] & kPsh) != 0) break;
  }
  return k;
}

// write(fd, buf, offsets, lengths, count) -> how many packets were written (a merged run counts
// as its parts); stops at EAGAIN like the plain write.
Napi::Value TunOffload::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchArgs a;
  if (!ParseBatch(info, &a, false)) return env.Undefined();
  return WriteFrom(env, a);
}

Napi::Value TunOffload::WriteFrom(Napi::Env env, const BatchArgs& a) {
  uint32_t i = 0;
  while (i < a.n) {
    uint32_t hlen = 0, bytes = 0;
    uint32_t k = RunFrom(a, i, &hlen, &bytes);
    ssize_t r = WriteRun(a.fd, a, i, k, hlen, bytes);
    if (r < 0 && k > 1 && errno == EINVAL) {
      // A kernel that refuses GSO writes: fall back to one packet per write for good.
      merge_ = false;
      mergeRefused_++;
      continue;
    }
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (i == 0) ThrowErrno(env, "writev", errno);
      break;
    }
    if (k > 1) {
      mergedWrites_++;
      mergedPackets_ += k;
    }
    i += k;
  }
  return Napi::Number::New(env, i);
}

// plan(fd, buf, offsets, lengths, count, runs: Uint32Array) -> number of runs: the run lengths
// write() would use, without writing (tests compare them with a model of the merge rules).
Napi::Value TunOffload::Plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchArgs a;
  if (!ParseBatch(info, &a, false)) return env.Undefined();
  uint32_t* runs = nullptr;
  size_t runsLen = 0;
  if (info.Length() < 6 || !TypedArrayData(info[5], napi_uint32_array, &runs, &runsLen) || runsLen < a.n) {
    Napi::TypeError::New(env, "plan(..., runs: Uint32Array of at least count)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t i = 0, m = 0;
  while (i < a.n) {
    uint32_t hlen = 0, bytes = 0;
    uint32_t k = RunFrom(a, i, &hlen, &bytes);
    runs[m++] = k;
    i += k;
  }
  return Napi::Number::New(env, m);
}

// ---- bound calls (see nebula::Pinned): bindRead/bindWrite(buf, offsets, lengths[, thenRead])
// return read(fd, max, slotCapacity) / write(fd, count) on those arrays. ----

struct TunOffload::Bound {
  Pinned pins;
  TunOffload* self = nullptr;
  BatchArgs a;
  NativeRead native;
  ChainedRead then;
};

int64_t TunOffload::BoundReadCore(Bound* b) { return b->self->ReadCore(b->a); }

Napi::Value TunOffload::Bind(const Napi::CallbackInfo& info, bool read) {
  auto* b = new Bound();
  if (!BatchArrays(info, 0, &b->a, &b->pins) || (!read && !FollowReadArg(info, 3, &b->pins, &b->then))) {
    delete b;
    return info.Env().Undefined();
  }
  b->self = this;
  b->pins.Keep(Value());
  Napi::Function fn = BindFunction(info.Env(), read ? "read" : "write", read ? BoundRead : BoundWrite, b);
  if (read) {
    b->native = {BoundNativeRead<Bound, BoundReadCore>, b};
    AttachNative(fn, &b->native);
  }
  return fn;
}

Napi::Value TunOffload::BindRead(const Napi::CallbackInfo& info) { return Bind(info, true); }
Napi::Value TunOffload::BindWrite(const Napi::CallbackInfo& info) { return Bind(info, false); }

Napi::Value TunOffload::BoundRead(const Napi::CallbackInfo& info) {
  auto* b = static_cast<Bound*>(info.Data());
  if (!ParseBoundBatch(info, &b->a, true)) return info.Env().Undefined();
  return b->self->ReadInto(info.Env(), b->a);
}

Napi::Value TunOffload::BoundWrite(const Napi::CallbackInfo& info) {
  auto* b = static_cast<Bound*>(info.Data());
  Napi::Env env = info.Env();
  if (!ParseBoundBatch(info, &b->a, false)) return env.Undefined();
  Napi::Value written = b->self->WriteFrom(env, b->a);
  if (!env.IsExceptionPending()) b->then.RunOn(b->a.fd);
  return written;
}

// stats() -> [superReads, segmentsOut, csumCompleted, readDropped, mergedWrites, mergedPackets, mergeRefused]
Napi::Value TunOffload::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, 7);
  const uint64_t v[] = {superReads_, segmentsOut_, csumCompleted_, readDropped_, mergedWrites_, mergedPackets_,
                        mergeRefused_};
  for (uint32_t i = 0; i < 7; i++) out.Set(i, Napi::Number::New(env, static_cast<double>(v[i])));
  return out;
}

}  // namespace nebula
