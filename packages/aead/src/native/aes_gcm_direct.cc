#include "aes_gcm_direct.h"

#include <dlfcn.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <new>

namespace nebula_aead {

namespace {

AesNi Resolve() {
  AesNi f{};
#if defined(__x86_64__)
  // OpenSSL masks capabilities through OPENSSL_ia32cap; whoever sets it gets EVP's own choice.
  if (std::getenv("OPENSSL_ia32cap") != nullptr || !__builtin_cpu_supports("aes")) return f;
  f.setEncryptKey = reinterpret_cast<int (*)(const unsigned char*, int, AES_KEY*)>(
      dlsym(RTLD_DEFAULT, "aesni_set_encrypt_key"));
  f.encrypt = reinterpret_cast<block128_f>(dlsym(RTLD_DEFAULT, "aesni_encrypt"));
  f.ctr32 = reinterpret_cast<ctr128_f>(dlsym(RTLD_DEFAULT, "aesni_ctr32_encrypt_blocks"));
  if (f.setEncryptKey == nullptr || f.encrypt == nullptr || f.ctr32 == nullptr) f = AesNi{};
#endif
  return f;
}

}  // namespace

const AesNi* AesNiFunctions() {
  static const AesNi fns = Resolve();
  return fns.ctr32 != nullptr ? &fns : nullptr;
}

AesGcmDirect* AesGcmDirect::Create(const uint8_t key[32]) {
  const AesNi* fns = AesNiFunctions();
  if (fns == nullptr) return nullptr;
  auto* k = new (std::nothrow) AesGcmDirect();
  if (k == nullptr) return nullptr;
  k->fns_ = fns;
  if (fns->setEncryptKey(key, 256, &k->schedule_) != 0 ||
      (k->gcm_ = CRYPTO_gcm128_new(&k->schedule_, fns->encrypt)) == nullptr) {
    delete k;
    return nullptr;
  }
  return k;
}

// CRYPTO_gcm128_release cleanses the context (H and its powers); the schedule is ours to wipe.
AesGcmDirect::~AesGcmDirect() {
  if (gcm_ != nullptr) CRYPTO_gcm128_release(gcm_);
  OPENSSL_cleanse(&schedule_, sizeof schedule_);
}

bool AesGcmDirect::Seal(const uint8_t nonce[12], const uint8_t* aad, size_t aadLen, uint8_t* p, size_t len,
                        uint8_t* tag) {
  CRYPTO_gcm128_setiv(gcm_, nonce, 12);
  if (CRYPTO_gcm128_aad(gcm_, aad, aadLen) != 0) return false;
  if (len > 0 && CRYPTO_gcm128_encrypt_ctr32(gcm_, p, p, len, fns_->ctr32) != 0) return false;
  CRYPTO_gcm128_tag(gcm_, tag, 16);
  return true;
}

bool AesGcmDirect::Open(const uint8_t nonce[12], const uint8_t* aad, size_t aadLen, uint8_t* p, size_t len,
                        const uint8_t* tag) {
  CRYPTO_gcm128_setiv(gcm_, nonce, 12);
  if (CRYPTO_gcm128_aad(gcm_, aad, aadLen) != 0) return false;
  if (len > 0 && CRYPTO_gcm128_decrypt_ctr32(gcm_, p, p, len, fns_->ctr32) != 0) return false;
  return CRYPTO_gcm128_finish(gcm_, tag, 16) == 0;
}

}  // namespace nebula_aead
