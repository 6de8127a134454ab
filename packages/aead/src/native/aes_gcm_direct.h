// AES-256-GCM through OpenSSL's GCM mode layer and its AES-NI block functions, called directly
// rather than through EVP and the provider. Same OpenSSL code for the arithmetic (the pairing
// OpenSSL's own AES-NI GCM uses: aesni_encrypt for the block, aesni_ctr32_encrypt_blocks for the
// counter stream, CRYPTO_gcm128's GHASH), a much smaller footprint per packet.
//
// Why: a lone packet after an idle stretch runs on cold caches, and there the footprint is the
// cost. Sealing 84 bytes after 10 ms of idle takes ~30-40 µs through EVP on OpenSSL 3.0 (provider
// dispatch, OSSL_PARAM name lookups, a chain of calls across the library) against ~0.5 µs warm;
// a ping pays that once per hop. The node binary exports the aesni_* symbols along with the rest
// of its OpenSSL; a Node built against a shared libcrypto may not, so they are looked up at run
// time and AES falls back to EVP when any is missing or the CPU lacks AES-NI (and, in aead.cc,
// when OpenSSL is in FIPS mode: the direct path does not go through the FIPS provider).
#pragma once
#include <openssl/aes.h>
#include <openssl/modes.h>

#include <cstddef>
#include <cstdint>

namespace nebula_aead {

// The block and counter functions, resolved once per process; null when unavailable.
struct AesNi {
  int (*setEncryptKey)(const unsigned char* userKey, int bits, AES_KEY* key);
  block128_f encrypt;
  ctr128_f ctr32;
};
const AesNi* AesNiFunctions();

// One key: its schedule and a GCM context bound to it (which keeps a pointer to the schedule, so
// an instance never moves). Either direction; each packet starts from its own nonce.
class AesGcmDirect {
 public:
  // Null when the functions are unavailable or OpenSSL cannot allocate the context.
  static AesGcmDirect* Create(const uint8_t key[32]);
  ~AesGcmDirect();
  AesGcmDirect(const AesGcmDirect&) = delete;
  AesGcmDirect& operator=(const AesGcmDirect&) = delete;

  // In place: p[0..len) is encrypted and the tag written at p + len. False on an OpenSSL refusal.
  bool Seal(const uint8_t nonce[12], const uint8_t* aad, size_t aadLen, uint8_t* p, size_t len, uint8_t* tag);
  // In place; true only when `tag` authenticates (compared in constant time by OpenSSL).
  bool Open(const uint8_t nonce[12], const uint8_t* aad, size_t aadLen, uint8_t* p, size_t len, const uint8_t* tag);

 private:
  AesGcmDirect() = default;
  const AesNi* fns_ = nullptr;
  AES_KEY schedule_{};
  GCM128_CONTEXT* gcm_ = nullptr;
};

}  // namespace nebula_aead
