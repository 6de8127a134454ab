// Per-queue TSO/GRO state for IFF_VNET_HDR queues (see offload.cc). One instance per queue, used
// only on the thread that owns the queue.
#pragma once
#include "batch_args.h"
#include "nebula_native.h"

#include <netinet/in.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>

namespace nebula {

// struct virtio_net_hdr (linux/virtio_net.h, which C++ cannot include: a member is named `class`),
// host byte order as tun uses it without TUNSETVNETLE/BE.
struct virtio_net_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(virtio_net_hdr) == 10, "virtio_net_hdr is 10 bytes");
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;
constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_ECN = 0x80;

class TunOffload : public Napi::ObjectWrap<TunOffload> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TunOffload(const Napi::CallbackInfo& info);

 private:
  // Most parts per merged write: 64 KiB of 1.2 KB segments is ~52.
  static constexpr uint32_t kMaxRun = 64;

  struct Bound;

  Napi::Value ReadInto(Napi::Env env, const BatchArgs& a);
  // ReadInto without JS: the count, or -errno if an error came before any packet.
  int64_t ReadCore(const BatchArgs& a);
  static int64_t BoundReadCore(Bound* b);
  Napi::Value WriteFrom(Napi::Env env, const BatchArgs& a);
  Napi::Value Bind(const Napi::CallbackInfo& info, bool read);
  Napi::Value BindRead(const Napi::CallbackInfo& info);
  Napi::Value BindWrite(const Napi::CallbackInfo& info);
  static Napi::Value BoundRead(const Napi::CallbackInfo& info);
  static Napi::Value BoundWrite(const Napi::CallbackInfo& info);
  bool CompleteChecksum(uint8_t* p, size_t len, const virtio_net_hdr& h);
  bool StartSegments(uint8_t* p, size_t len, const virtio_net_hdr& h, size_t cap);
  uint32_t DrainSegments(const BatchArgs& a, uint32_t slot, uint32_t max);
  bool Mergeable(const uint8_t* p, uint32_t len, uint32_t* hlen) const;
  bool Follows(const uint8_t* first, uint32_t hlen, uint32_t bytes, const uint8_t* q, uint32_t qlen,
               uint32_t qhlen) const;
  uint32_t RunFrom(const BatchArgs& a, uint32_t i, uint32_t* hlen, uint32_t* bytes) const;
  ssize_t WriteRun(int fd, const BatchArgs& a, uint32_t i, uint32_t k, uint32_t hlen, uint32_t bytes);

  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Plan(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  // Read side: one packet from the kernel (vnet header + up to 64 KiB), and the super-segment in
  // it still being split, if any.
  std::unique_ptr<uint8_t[]> scratch_;
  const uint8_t* seg_ = nullptr;
  size_t segLen_ = 0, segHdr_ = 0, segIhl_ = 0;
  uint32_t segSize_ = 0, segNext_ = 0, segCount_ = 0;
  // Write side.
  bool merge_ = true;
  uint8_t head_[120];
  struct iovec iov_[2 + kMaxRun];

  uint64_t superReads_ = 0, segmentsOut_ = 0, csumCompleted_ = 0, readDropped_ = 0;
  uint64_t mergedWrites_ = 0, mergedPackets_ = 0, mergeRefused_ = 0;
};

}  // namespace nebula
