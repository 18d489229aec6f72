#pragma once
// Signing keys for MCUboot images (OpenSSL 3): ECDSA P-256, Ed25519, RSA-2048/3072.
// PEM in and out, the public-key bytes that KEYHASH covers (§5), sign/verify as imgtool.
// Host-side: these allocate.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/mcuboot/image.h"

namespace smpkit::mcuboot {

enum class KeyType : uint8_t { kEcdsaP256, kEcdsaP384, kEd25519, kRsa2048, kRsa3072 };

// "ecdsa-p256", "ed25519", "rsa-2048", ... (imgtool keygen -t names).
std::string_view KeyTypeName(KeyType type);
// Errors: kInvalidArgument for an unknown name.
Result<KeyType> ParseKeyType(std::string_view name);
// Signature TLV type a key of this type produces (kTlvEcdsaSig, kTlvEd25519, ...).
uint16_t SignatureTlvType(KeyType type);
SignatureType SignatureTypeFor(KeyType type);

namespace internal {
struct PkeyDeleter {
  void operator()(void* pkey) const;
};
using PkeyPtr = std::unique_ptr<void, PkeyDeleter>;  // EVP_PKEY
}  // namespace internal

class PublicKey {
 public:
  // Reads a PEM public key ("PUBLIC KEY" SPKI, or "RSA PUBLIC KEY"), or the public half of
  // a PEM private key. Errors: kInvalidArgument (not PEM / unsupported key type).
  static Result<PublicKey> FromPem(std::string_view pem);

  KeyType type() const { return type_; }
  // SPKI PEM, as `imgtool getpub -e pem`.
  Result<std::string> ToPem() const;
  // Bytes hashed into KEYHASH / stored in PUBKEY: DER SPKI (EC, Ed25519) or PKCS#1
  // RSAPublicKey (RSA).
  Result<std::vector<uint8_t>> KeyBytes() const;
  // H(KeyBytes()).
  Result<Digest> KeyHash(HashAlg alg = HashAlg::kSha256) const;
  // Checks `signature` over the image digest (§6: ECDSA prehashed, RSA-PSS salt 32,
  // Ed25519 over the digest bytes as message). Errors: kCrypto if it does not verify.
  Status VerifyDigest(const Digest& digest, ConstByteSpan signature) const;

  void* pkey() const { return pkey_.get(); }  // EVP_PKEY*

 private:
  PublicKey(internal::PkeyPtr pkey, KeyType type) : pkey_(std::move(pkey)), type_(type) {}
  std::shared_ptr<void> pkey_;
  KeyType type_;
  friend class PrivateKey;
};

class PrivateKey {
 public:
  // Errors: kCrypto if key generation fails.
  static Result<PrivateKey> Generate(KeyType type);
  // Reads an unencrypted PEM private key (PKCS#8 or traditional).
  // Errors: kInvalidArgument (not PEM / encrypted / unsupported type).
  static Result<PrivateKey> FromPem(std::string_view pem);

  KeyType type() const { return type_; }
  // PKCS#8 PEM ("PRIVATE KEY"), as imgtool keygen writes.
  Result<std::string> ToPem() const;
  Result<PublicKey> Public() const;
  // Signature over the image digest (§6). ECDSA: DER; RSA: PSS/SHA-256/salt 32;
  // Ed25519: over the digest bytes. Errors: kCrypto.
  Result<std::vector<uint8_t>> SignDigest(const Digest& digest) const;

  void* pkey() const { return pkey_.get(); }  // EVP_PKEY*

 private:
  PrivateKey(internal::PkeyPtr pkey, KeyType type) : pkey_(std::move(pkey)), type_(type) {}
  std::shared_ptr<void> pkey_;
  KeyType type_;
};

}  // namespace smpkit::mcuboot
