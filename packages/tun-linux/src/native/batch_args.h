// Argument checks shared by the batch loops of plain queues (tun_linux.cc) and TSO queues
// (offload.cc), called and bound: the arena, its slots, and the count (plus the slot capacity for
// reads) checked against each other before any syscall touches the memory.
#pragma once
#include "nebula_native.h"

#include <cstdint>
#include <string>

namespace nebula {

struct BatchArgs {
  int fd = -1;
  uint8_t* buf = nullptr;
  size_t bufLen = 0;
  uint32_t* offsets = nullptr;
  uint32_t* lengths = nullptr;
  size_t slots = 0;
  // Packets to read (max) or write (count), and the slot capacity of a read.
  uint32_t n = 0;
  int64_t cap = 0;
};

// Whether n (and cap) fit the arrays in `a`: 0 if they do, 1 if n or cap is out of range, 2 + i
// if slot i would run past the buffer.
inline int64_t BatchMisfit(const BatchArgs& a, bool read, int64_t n, int64_t cap) {
  if (n < 0 || static_cast<uint64_t>(n) > a.slots || (read && cap <= 0)) return 1;
  for (uint32_t i = 0; i < static_cast<uint32_t>(n); i++) {
    size_t end = static_cast<size_t>(a.offsets[i]) + (read ? static_cast<size_t>(cap) : a.lengths[i]);
    if (end > a.bufLen) return 2 + i;
  }
  return 0;
}

// Checks n (and cap) against the arrays in `a` and stores them; throws and returns false if not.
inline bool CheckBatchCounts(Napi::Env env, BatchArgs* a, bool read, int64_t n, int64_t cap) {
  int64_t misfit = BatchMisfit(*a, read, n, cap);
  if (misfit == 1) {
    Napi::RangeError::New(env, read ? "max exceeds offsets/lengths or slotCapacity <= 0" : "count exceeds offsets/lengths")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (misfit > 1) {
    Napi::RangeError::New(env, "offsets[" + std::to_string(misfit - 2) + "] + " + (read ? "slotCapacity" : "lengths[i]") +
                                   " exceeds the buffer")
        .ThrowAsJavaScriptException();
    return false;
  }
  a->n = static_cast<uint32_t>(n);
  a->cap = cap;
  return true;
}

// The NativeRead of a bound read: checks the counts as the bound call does, then runs `core`
// (the queue's read loop, returning a count or -errno) on the bound arrays.
template <typename Bound, int64_t (*Core)(Bound*)>
int64_t BoundNativeRead(void* state, int fd, uint32_t max, int64_t cap) {
  auto* b = static_cast<Bound*>(state);
  if (BatchMisfit(b->a, true, max, cap) != 0) return -EINVAL;
  b->a.fd = fd;
  b->a.n = max;
  b->a.cap = cap;
  return Core(b);
}

// Takes (buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array) from info[first..], pinning
// them in `pins` when given (bound calls).
inline bool BatchArrays(const Napi::CallbackInfo& info, size_t first, BatchArgs* a, Pinned* pins) {
  Napi::Env env = info.Env();
  size_t offLen = 0, lenLen = 0;
  bool ok = info.Length() >= first + 3;
  if (ok && pins != nullptr) {
    ok = pins->Array(info[first], napi_uint8_array, &a->buf, &a->bufLen) &&
         pins->Array(info[first + 1], napi_uint32_array, &a->offsets, &offLen) &&
         pins->Array(info[first + 2], napi_uint32_array, &a->lengths, &lenLen);
  } else if (ok) {
    ok = TypedArrayData(info[first], napi_uint8_array, &a->buf, &a->bufLen) &&
         TypedArrayData(info[first + 1], napi_uint32_array, &a->offsets, &offLen) &&
         TypedArrayData(info[first + 2], napi_uint32_array, &a->lengths, &lenLen);
  }
  if (!ok) {
    Napi::TypeError::New(env, "buf must be a Uint8Array, offsets and lengths Uint32Arrays").ThrowAsJavaScriptException();
    return false;
  }
  a->slots = offLen < lenLen ? offLen : lenLen;
  return true;
}

// The plain call: (fd, buf, offsets, lengths, n[, slotCapacity]).
inline bool ParseBatch(const Napi::CallbackInfo& info, BatchArgs* a, bool read) {
  Napi::Env env = info.Env();
  if (info.Length() < (read ? 6u : 5u) || !info[0].IsNumber() || !info[4].IsNumber() ||
      (read && !info[5].IsNumber())) {
    Napi::TypeError::New(env, read ? "(fd, buf, offsets, lengths, max: number, slotCapacity: number)"
                                   : "(fd, buf, offsets, lengths, count: number)")
        .ThrowAsJavaScriptException();
    return false;
  }
  a->fd = info[0].As<Napi::Number>().Int32Value();
  return BatchArrays(info, 1, a, nullptr) &&
         CheckBatchCounts(env, a, read, info[4].As<Napi::Number>().Int64Value(),
                          read ? info[5].As<Napi::Number>().Int64Value() : 0);
}

// The bound call on pinned arrays: (fd, n[, slotCapacity]).
inline bool ParseBoundBatch(const Napi::CallbackInfo& info, BatchArgs* a, bool read) {
  Napi::Env env = info.Env();
  if (info.Length() < (read ? 3u : 2u) || !info[0].IsNumber() || !info[1].IsNumber() ||
      (read && !info[2].IsNumber())) {
    Napi::TypeError::New(env, read ? "read(fd, max, slotCapacity)" : "write(fd, count)").ThrowAsJavaScriptException();
    return false;
  }
  a->fd = info[0].As<Napi::Number>().Int32Value();
  return CheckBatchCounts(env, a, read, info[1].As<Napi::Number>().Int64Value(),
                          read ? info[2].As<Napi::Number>().Int64Value() : 0);
}

// bindWrite's optional follow-up read, [read, max, slotCapacity, result] at info[index]: run on
// the queue right after each write (see ChainedRead). Absent is fine; malformed throws.
inline bool FollowReadArg(const Napi::CallbackInfo& info, size_t index, Pinned* pins, ChainedRead* out) {
  if (info.Length() <= index || info[index].IsUndefined()) return true;
  if (!info[index].IsArray() || info[index].As<Napi::Array>().Length() < 4) {
    Napi::TypeError::New(info.Env(), "bindWrite: thenRead is [read, max, slotCapacity, result: Int32Array]")
        .ThrowAsJavaScriptException();
    return false;
  }
  auto e = info[index].As<Napi::Array>();
  return ParseChainedRead(info.Env(), "bindWrite", e[0u], e[1u], e[2u], e[3u], pins, out);
}

}  // namespace nebula
