#pragma once
// OpenSSL digest of a HashAlg (internal to libs/mcuboot).
#include <openssl/evp.h>

#include "smpkit/mcuboot/image.h"

namespace smpkit::mcuboot::internal {

inline const EVP_MD* Md(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256: return EVP_sha256();
    case HashAlg::kSha384: return EVP_sha384();
    case HashAlg::kSha512: return EVP_sha512();
  }
  return nullptr;
}

}  // namespace smpkit::mcuboot::internal
