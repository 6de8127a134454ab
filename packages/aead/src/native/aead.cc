// Batched AEAD over Node's own OpenSSL (its symbols are exported by the node binary, so the
// addon links no libcrypto). AES-256-GCM keys go to OpenSSL's GCM mode with its AES-NI functions
// directly (aes_gcm_direct.h: a small footprint for packets on cold caches) when the process has
// them; otherwise, and for ChaCha20-Poly1305, one EVP_CIPHER_CTX per key slot and direction,
// keyed once. Each packet only sets its nonce. All Nebula framing (meta layout, nonce from the
// header) is decided in TypeScript's contract; this file only bounds-checks and calls OpenSSL.
//
// Per packet i: meta[3i] = slot, meta[3i+1] = header offset, meta[3i+2] = length
// (plaintext for seal, ciphertext+tag for open). AD = the 16 header bytes; nonce = 00000000 ‖
// header[8..16) as is (AES-GCM) or byte-reversed (ChaCha20-Poly1305).
#include "aes_gcm_direct.h"
#include "nebula_native.h"
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kHeaderLen = 16;
constexpr size_t kTagLen = 16;
constexpr size_t kKeyLen = 32;
constexpr uint32_t kMaxSlots = 1u << 20;

enum CipherKind : uint8_t { kNone = 0, kAes = 1, kChaCha = 2 };

struct Slot {
  CipherKind kind = kNone;
  // AES through OpenSSL's GCM mode directly; when null, the EVP contexts below.
  nebula_aead::AesGcmDirect* direct = nullptr;
  EVP_CIPHER_CTX* enc = nullptr;
  EVP_CIPHER_CTX* dec = nullptr;
};

std::string OpenSslError(const char* what) {
  char buf[256];
  unsigned long e = ERR_get_error();
  std::string msg = what;
  if (e != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();  // never leave our errors for node:crypto to pick up
  return msg;
}

inline void MakeNonce(uint8_t nonce[12], const uint8_t* hdr, CipherKind kind) {
  std::memset(nonce, 0, 4);
  if (kind == kAes) {
    std::memcpy(nonce + 4, hdr + 8, 8);
  } else {
    for (int i = 0; i < 8; i++) nonce[4 + i] = hdr[15 - i];
  }
}

// Per packet, the nonce (and, when opening, the expected tag) goes to the cipher. For AES-GCM
// that is one provider parameter call: the GCM "fixed IV" parameter with length -1 replaces the
// whole IV (OpenSSL's TLS layer restores IVs that way), and the tag rides along. A re-init with
// EVP_CipherInit_ex would do the same through the generic init, an IV-length query and a second
// call for the tag, ~16 % of a cold packet's native time on OpenSSL 3.0. ChaCha20-Poly1305 has
// no such parameter, so it re-inits.
bool SetNonce(EVP_CIPHER_CTX* ctx, CipherKind kind, uint8_t nonce[12], uint8_t* expectedTag, int enc) {
  if (kind != kAes) return EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce, enc) == 1;
  OSSL_PARAM params[3];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, nonce, static_cast<size_t>(-1));
  if (expectedTag != nullptr) params[n++] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, expectedTag, kTagLen);
  params[n] = OSSL_PARAM_construct_end();
  return EVP_CIPHER_CTX_set_params(ctx, params) == 1;
}

bool GetTag(EVP_CIPHER_CTX* ctx, CipherKind kind, uint8_t* out) {
  if (kind != kAes) return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagLen, out) == 1;
  OSSL_PARAM params[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, out, kTagLen),
                          OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_get_params(ctx, params) == 1;
}

// Errors carry the same stable `code` as the TypeScript implementations' AeadError.
void Throw(Napi::Env env, Napi::Error e, const char* code) {
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

bool GetU8(const Napi::Value& v, uint8_t** data, size_t* len) {
  return nebula::TypedArrayData(v, napi_uint8_array, data, len);
}

bool GetU32(const Napi::Value& v, uint32_t** data, size_t* len) {
  return nebula::TypedArrayData(v, napi_uint32_array, data, len);
}

// A batch count: a whole number with 3 meta words per packet (and a result byte when `results`).
bool CheckCount(Napi::Env env, double n, size_t metaLen, const size_t* resultsLen, uint32_t* count) {
  if (!(n >= 0) || n != std::floor(n) || n * 3 > static_cast<double>(metaLen) ||
      (resultsLen != nullptr && n > static_cast<double>(*resultsLen))) {
    Throw(env, Napi::RangeError::New(env, resultsLen != nullptr ? "count exceeds meta.length / 3 or results.length" : "count exceeds meta.length / 3"), "ERR_AEAD_BAD_META");
    return false;
  }
  *count = static_cast<uint32_t>(n);
  return true;
}

class BatchAead : public Napi::ObjectWrap<BatchAead> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeBatchAead",
                       {
                           InstanceMethod<&BatchAead::SetKey>("setKey"),
                           InstanceMethod<&BatchAead::ClearKey>("clearKey"),
                           InstanceMethod<&BatchAead::SealBatch>("sealBatch"),
                           InstanceMethod<&BatchAead::OpenBatch>("openBatch"),
                           InstanceMethod<&BatchAead::BindSeal>("bindSeal"),
                           InstanceMethod<&BatchAead::BindOpen>("bindOpen"),
                           InstanceMethod<&BatchAead::Close>("close"),
                           InstanceMethod<&BatchAead::AesEngine>("aesEngine"),
                       });
  }

  // new NativeBatchAead([aesEngine: 'auto' | 'evp']): 'evp' keeps AES on EVP (for cross-tests).
  explicit BatchAead(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BatchAead>(info) {
    bool evpOnly = info.Length() > 0 && info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "evp";
    // FIPS mode (node --enable-fips, crypto.setFips) keeps AES on EVP, where the FIPS provider is.
    direct_ = !evpOnly && EVP_default_properties_is_fips_enabled(nullptr) == 0 &&
              nebula_aead::AesNiFunctions() != nullptr;
  }
  ~BatchAead() override { FreeAll(); }

 private:
  std::vector<Slot> slots_;
  bool direct_ = false;

  void FreeAll() {
    for (auto& s : slots_) FreeSlot(s);
    slots_.clear();
  }

  // EVP_CIPHER_CTX_free cleanses the key schedule (provider freectx uses OPENSSL_clear_free).
  static void FreeSlot(Slot& s) {
    delete s.direct;
    s.direct = nullptr;
    if (s.enc) EVP_CIPHER_CTX_free(s.enc);
    if (s.dec) EVP_CIPHER_CTX_free(s.dec);
    s.enc = s.dec = nullptr;
    s.kind = kNone;
  }

  static EVP_CIPHER_CTX* NewCtx(const EVP_CIPHER* c, const uint8_t* key, int enc) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return nullptr;
    if (EVP_CipherInit_ex(ctx, c, nullptr, key, nullptr, enc) != 1) {
      EVP_CIPHER_CTX_free(ctx);
      return nullptr;
    }
    return ctx;
  }

  // setKey(slot, kind: 1 aes | 2 chachapoly, key: Uint8Array(32))
  Napi::Value SetKey(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber()) {
      Throw(env, Napi::TypeError::New(env, "setKey(slot, kind, key)"), "ERR_AEAD_ARGUMENT");
      return env.Undefined();
    }
    int64_t slot = info[0].As<Napi::Number>().Int64Value();
    int32_t kind = info[1].As<Napi::Number>().Int32Value();
    uint8_t* key;
    size_t keyLen;
    if (slot < 0 || slot >= kMaxSlots) {
      Throw(env, Napi::RangeError::New(env, "key slot out of range"), "ERR_AEAD_ARGUMENT");
      return env.Undefined();
    }
    if (kind != kAes && kind != kChaCha) {
      Throw(env, Napi::TypeError::New(env, "unknown cipher kind"), "ERR_AEAD_ARGUMENT");
      return env.Undefined();
    }
    if (!GetU8(info[2], &key, &keyLen) || keyLen != kKeyLen) {
      Throw(env, Napi::TypeError::New(env, "key must be a 32-byte Uint8Array"), "ERR_AEAD_ARGUMENT");
      return env.Undefined();
    }
    nebula_aead::AesGcmDirect* direct = nullptr;
    EVP_CIPHER_CTX* enc = nullptr;
    EVP_CIPHER_CTX* dec = nullptr;
    if (kind == kAes && direct_) {
      direct = nebula_aead::AesGcmDirect::Create(key);
      if (direct == nullptr) {
        Throw(env, Napi::Error::New(env, OpenSslError("CRYPTO_gcm128_new (key)")), "ERR_AEAD_OPENSSL");
        return env.Undefined();
      }
    } else {
      const EVP_CIPHER* c = kind == kAes ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
      enc = NewCtx(c, key, 1);
      dec = enc ? NewCtx(c, key, 0) : nullptr;
      if (!enc || !dec) {
        if (enc) EVP_CIPHER_CTX_free(enc);
        Throw(env, Napi::Error::New(env, OpenSslError("EVP_CipherInit_ex (key)")), "ERR_AEAD_OPENSSL");
        return env.Undefined();
      }
    }
    if (static_cast<size_t>(slot) >= slots_.size()) slots_.resize(static_cast<size_t>(slot) + 1);
    Slot& s = slots_[static_cast<size_t>(slot)];
    FreeSlot(s);
    s.kind = static_cast<CipherKind>(kind);
    s.direct = direct;
    s.enc = enc;
    s.dec = dec;
    return env.Undefined();
  }

  Napi::Value ClearKey(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Throw(env, Napi::TypeError::New(env, "clearKey(slot)"), "ERR_AEAD_ARGUMENT");
      return env.Undefined();
    }
    int64_t slot = info[0].As<Napi::Number>().Int64Value();
    if (slot >= 0 && static_cast<uint64_t>(slot) < slots_.size()) FreeSlot(slots_[static_cast<size_t>(slot)]);
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    FreeAll();
    return info.Env().Undefined();
  }

  // Which implementation new AES keys get: "aesni-gcm128" (OpenSSL's mode layer, directly) or "evp".
  Napi::Value AesEngine(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), direct_ ? "aesni-gcm128" : "evp");
  }

  // Common argument checks; returns false after throwing.
  bool Args(const Napi::CallbackInfo& info, uint8_t** buf, size_t* bufLen, uint32_t** meta, uint32_t* count) {
    Napi::Env env = info.Env();
    size_t metaLen;
    if (info.Length() < 3 || !GetU8(info[0], buf, bufLen) || !GetU32(info[1], meta, &metaLen) ||
        !info[2].IsNumber()) {
      Throw(env, Napi::TypeError::New(env, "expected (buf: Uint8Array, meta: Uint32Array, count: number)"), "ERR_AEAD_ARGUMENT");
      return false;
    }
    return CheckCount(env, info[2].As<Napi::Number>().DoubleValue(), metaLen, nullptr, count);
  }

  Napi::Value SealBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* buf;
    size_t bufLen;
    uint32_t* meta;
    uint32_t count;
    if (!Args(info, &buf, &bufLen, &meta, &count)) return env.Undefined();
    Seal(env, buf, bufLen, meta, count);
    return env.Undefined();
  }

  // Seals packets 0..count-1 in place; throws (and returns) on a bad entry or an EVP failure.
  void Seal(Napi::Env env, uint8_t* buf, size_t bufLen, const uint32_t* meta, uint32_t count) {
    // Validate the whole batch first so a bad entry throws before anything is modified.
    for (uint32_t i = 0; i < count; i++) {
      uint32_t slot = meta[3 * i];
      uint64_t end = uint64_t(meta[3 * i + 1]) + kHeaderLen + meta[3 * i + 2] + kTagLen;
      if (slot >= slots_.size() || slots_[slot].kind == kNone) {
        Throw(env, Napi::RangeError::New(env, "sealBatch: packet " + std::to_string(i) + " uses an empty key slot"), "ERR_AEAD_BAD_META");
        return;
      }
      if (end > bufLen) {
        Throw(env, Napi::RangeError::New(env, "sealBatch: packet " + std::to_string(i) + " exceeds the buffer"), "ERR_AEAD_BAD_META");
        return;
      }
    }
    uint8_t nonce[12];
    int outl;
    for (uint32_t i = 0; i < count; i++) {
      const Slot& s = slots_[meta[3 * i]];
      uint8_t* hdr = buf + meta[3 * i + 1];
      uint8_t* p = hdr + kHeaderLen;
      int len = static_cast<int>(meta[3 * i + 2]);
      MakeNonce(nonce, hdr, s.kind);
      if (s.direct != nullptr) {
        if (!s.direct->Seal(nonce, hdr, kHeaderLen, p, static_cast<size_t>(len), p + len)) {
          Throw(env, Napi::Error::New(env, OpenSslError("sealBatch: CRYPTO_gcm128 failure")), "ERR_AEAD_OPENSSL");
          return;
        }
        continue;
      }
      EVP_CIPHER_CTX* ctx = s.enc;
      if (!SetNonce(ctx, s.kind, nonce, nullptr, 1) ||
          EVP_CipherUpdate(ctx, nullptr, &outl, hdr, kHeaderLen) != 1 ||
          (len > 0 && EVP_CipherUpdate(ctx, p, &outl, p, len) != 1) ||
          EVP_CipherFinal_ex(ctx, p + len, &outl) != 1 || !GetTag(ctx, s.kind, p + len)) {
        Throw(env, Napi::Error::New(env, OpenSslError("sealBatch: EVP failure")), "ERR_AEAD_OPENSSL");
        return;
      }
    }
  }

  Napi::Value OpenBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* buf;
    size_t bufLen;
    uint32_t* meta;
    uint32_t count;
    uint8_t* results;
    size_t resultsLen;
    if (!Args(info, &buf, &bufLen, &meta, &count)) return env.Undefined();
    if (info.Length() < 4 || !GetU8(info[3], &results, &resultsLen) || resultsLen < count) {
      Throw(env, Napi::TypeError::New(env, "openBatch: results must be a Uint8Array of at least count bytes"), "ERR_AEAD_ARGUMENT");
      return env.Undefined();
    }
    return Napi::Number::New(env, Open(buf, bufLen, meta, count, results));
  }

  static bool OpenEvp(EVP_CIPHER_CTX* ctx, CipherKind kind, uint8_t nonce[12], const uint8_t* hdr, uint8_t* p, int len,
                      uint8_t* tag) {
    int outl;
    return SetNonce(ctx, kind, nonce, tag, 0) && EVP_CipherUpdate(ctx, nullptr, &outl, hdr, kHeaderLen) == 1 &&
           (len == 0 || EVP_CipherUpdate(ctx, p, &outl, p, len) == 1) &&
           (kind == kAes || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTagLen, tag) == 1) &&
           EVP_CipherFinal_ex(ctx, p + len, &outl) == 1;
  }

  // Opens packets 0..count-1 in place; results[i] = 1 when packet i authenticated. Returns how many did.
  uint32_t Open(uint8_t* buf, size_t bufLen, const uint32_t* meta, uint32_t count, uint8_t* results) {
    uint8_t nonce[12];
    uint8_t tag[kTagLen];
    uint32_t ok = 0;
    bool sawError = false;
    for (uint32_t i = 0; i < count; i++) {
      results[i] = 0;
      uint32_t slot = meta[3 * i];
      uint32_t total = meta[3 * i + 2];
      uint64_t end = uint64_t(meta[3 * i + 1]) + kHeaderLen + total;
      // A bad entry (unset slot, too short, outside buf) just fails that packet.
      if (slot >= slots_.size() || slots_[slot].kind == kNone || total < kTagLen || end > bufLen) continue;
      const Slot& s = slots_[slot];
      uint8_t* hdr = buf + meta[3 * i + 1];
      uint8_t* p = hdr + kHeaderLen;
      int len = static_cast<int>(total - kTagLen);
      std::memcpy(tag, p + len, kTagLen);
      MakeNonce(nonce, hdr, s.kind);
      bool authentic = s.direct != nullptr ? s.direct->Open(nonce, hdr, kHeaderLen, p, static_cast<size_t>(len), tag)
                                           : OpenEvp(s.dec, s.kind, nonce, hdr, p, len, tag);
      if (authentic) {
        results[i] = 1;
        ok++;
      } else {
        // Never hand unauthenticated plaintext back.
        std::memset(p, 0, static_cast<size_t>(len));
        sawError = true;
      }
    }
    if (sawError) ERR_clear_error();
    return ok;
  }

  // ---- bound calls: the hot path without ObjectWrap unwrapping or typed-array checks ----
  //
  // bindSeal(buf, meta[, send]) / bindOpen(buf, meta, results) return a function of the count
  // alone; with `send` (a bound UDP send carrying a NativeSend), the seal function sends the sealed
  // batch in the same call and returns how many packets the send consumed. An
  // N-API call into an idle process costs ~15-20 µs before it does anything when it goes through
  // ObjectWrap and typed-array arguments, ~7 µs as a plain function with its state in `data`; a
  // routine makes several per packet at ping rates. The arrays are pinned by references for the
  // function's life (they must not be transferred), and so is this object.
  struct Bound {
    nebula::Pinned pins;
    BatchAead* self = nullptr;
    uint8_t* buf = nullptr;
    size_t bufLen = 0;
    uint32_t* meta = nullptr;
    size_t metaLen = 0;
    uint8_t* results = nullptr;
    size_t resultsLen = 0;
    // bindSeal's optional send: run on the batch right after it is sealed.
    nebula::NativeSend* send = nullptr;
  };

  static bool BoundCount(const Napi::CallbackInfo& info, const Bound* b, bool open, uint32_t* count) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Throw(env, Napi::TypeError::New(env, "expected (count: number)"), "ERR_AEAD_ARGUMENT");
      return false;
    }
    return CheckCount(env, info[0].As<Napi::Number>().DoubleValue(), b->metaLen, open ? &b->resultsLen : nullptr,
                      count);
  }

  static Napi::Value BoundSeal(const Napi::CallbackInfo& info) {
    auto* b = static_cast<Bound*>(info.Data());
    Napi::Env env = info.Env();
    uint32_t count;
    if (!BoundCount(info, b, false, &count)) return env.Undefined();
    b->self->Seal(env, b->buf, b->bufLen, b->meta, count);
    if (b->send == nullptr || env.IsExceptionPending()) return env.Undefined();
    int64_t sent = b->send->send(b->send->state, count);
    if (sent < 0) {
      Throw(env, nebula::ErrnoError(env, "send", static_cast<int>(-sent), "the bound send refused the sealed batch"),
            "ERR_AEAD_SEND");
      return env.Undefined();
    }
    return Napi::Number::New(env, static_cast<double>(sent));
  }

  static Napi::Value BoundOpen(const Napi::CallbackInfo& info) {
    auto* b = static_cast<Bound*>(info.Data());
    uint32_t count;
    if (!BoundCount(info, b, true, &count)) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), b->self->Open(b->buf, b->bufLen, b->meta, count, b->results));
  }

  Napi::Value MakeBound(const Napi::CallbackInfo& info, bool open) {
    Napi::Env env = info.Env();
    auto* b = new Bound();
    if (info.Length() < (open ? 3u : 2u) || !b->pins.Array(info[0], napi_uint8_array, &b->buf, &b->bufLen) ||
        !b->pins.Array(info[1], napi_uint32_array, &b->meta, &b->metaLen) ||
        (open && !b->pins.Array(info[2], napi_uint8_array, &b->results, &b->resultsLen))) {
      delete b;
      Throw(env, Napi::TypeError::New(env, open ? "bindOpen(buf: Uint8Array, meta: Uint32Array, results: Uint8Array)" : "bindSeal(buf: Uint8Array, meta: Uint32Array)"), "ERR_AEAD_ARGUMENT");
      return env.Undefined();
    }
    if (!open && info.Length() > 2 && !info[2].IsUndefined()) {
      b->send = nebula::NativeOf<nebula::NativeSend>(info[2]);
      if (b->send == nullptr) {
        delete b;
        Throw(env, Napi::TypeError::New(env, "bindSeal: send has no nativeSend"), "ERR_AEAD_ARGUMENT");
        return env.Undefined();
      }
      b->pins.Keep(info[2]);
    }
    b->self = this;
    b->pins.Keep(Value());
    return nebula::BindFunction(env, open ? "open" : "seal", open ? BoundOpen : BoundSeal, b);
  }

  Napi::Value BindSeal(const Napi::CallbackInfo& info) { return MakeBound(info, false); }
  Napi::Value BindOpen(const Napi::CallbackInfo& info) { return MakeBound(info, true); }
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeBatchAead", BatchAead::Define(env));
  exports.Set("opensslVersion", Napi::String::New(env, OpenSSL_version(OPENSSL_VERSION)));
  return exports;
}

}  // namespace

NODE_API_MODULE(aead, Init)
