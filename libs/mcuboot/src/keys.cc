#include "smpkit/mcuboot/keys.h"
#include "openssl_md.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

namespace smpkit::mcuboot {

void internal::PkeyDeleter::operator()(void* pkey) const {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey));
}

namespace {

using internal::PkeyPtr;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
struct CtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

EVP_PKEY* P(void* p) { return static_cast<EVP_PKEY*>(p); }

// Appends OpenSSL's first queued error (if any) to a message, and clears the queue.
Error CryptoError(Errc code, const char* what) {
  unsigned long e = ERR_get_error();
  char buf[96] = {};
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  if (e == 0) return Error(code, what);
  return Error::Format(code, "%s (%s)", what, buf);
}

Result<KeyType> DetectType(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) != 1) {
        return Error(Errc::kNotSupported, "EC key without a named curve");
      }
      std::string_view g(group, len);
      if (g == "prime256v1" || g == "P-256" || g == "secp256r1") return KeyType::kEcdsaP256;
      if (g == "secp384r1" || g == "P-384") return KeyType::kEcdsaP384;
      return Error::Format(Errc::kNotSupported, "unsupported EC curve %s", group);
    }
    case EVP_PKEY_RSA: {
      int bits = EVP_PKEY_get_bits(pkey);
      if (bits == 2048) return KeyType::kRsa2048;
      if (bits == 3072) return KeyType::kRsa3072;
      return Error::Format(Errc::kNotSupported, "unsupported RSA key size %d (need 2048/3072)",
                           bits);
    }
    default:
      return Error::Format(Errc::kNotSupported, "unsupported key type %d",
                           EVP_PKEY_get_base_id(pkey));
  }
}

BioPtr MemBio(std::string_view s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

using internal::Md;

// Length of a leading DER SEQUENCE, so that zero padding after it (--pad-sig) is ignored.
size_t DerSequenceLength(ConstByteSpan sig) {
  if (sig.size() < 2 || sig[0] != 0x30) return sig.size();
  if (sig[1] < 0x80) return std::min(sig.size(), size_t{2} + sig[1]);
  if (sig[1] == 0x81 && sig.size() >= 3) return std::min(sig.size(), size_t{3} + sig[2]);
  return sig.size();
}

// Configures a sign/verify context for the key's digest scheme (§6).
Status SetupDigestCtx(EVP_PKEY_CTX* ctx, KeyType type, HashAlg alg) {
  if (EVP_PKEY_CTX_set_signature_md(ctx, Md(alg)) != 1) {
    return CryptoError(Errc::kCrypto, "cannot set signature digest");
  }
  if (type == KeyType::kRsa2048 || type == KeyType::kRsa3072) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) != 1) {
      return CryptoError(Errc::kCrypto, "cannot configure RSA-PSS");
    }
  }
  return Ok();
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP256:
      return "ecdsa-p256";
    case KeyType::kEcdsaP384:
      return "ecdsa-p384";
    case KeyType::kEd25519:
      return "ed25519";
    case KeyType::kRsa2048:
      return "rsa-2048";
    case KeyType::kRsa3072:
      return "rsa-3072";
  }
  return "unknown";
}

Result<KeyType> ParseKeyType(std::string_view name) {
  for (KeyType t : {KeyType::kEcdsaP256, KeyType::kEcdsaP384, KeyType::kEd25519, KeyType::kRsa2048,
                    KeyType::kRsa3072}) {
    if (KeyTypeName(t) == name) return t;
  }
  return Error::Format(Errc::kInvalidArgument,
                       "unknown key type \"%.*s\" (ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, "
                       "rsa-3072)",
                       static_cast<int>(name.size()), name.data());
}

uint16_t SignatureTlvType(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
      return kTlvEcdsaSig;
    case KeyType::kEd25519:
      return kTlvEd25519;
    case KeyType::kRsa2048:
      return kTlvRsa2048;
    case KeyType::kRsa3072:
      return kTlvRsa3072;
  }
  return 0;
}

SignatureType SignatureTypeFor(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP256:
      return SignatureType::kEcdsaP256;
    case KeyType::kEcdsaP384:
      return SignatureType::kEcdsaP384;
    case KeyType::kEd25519:
      return SignatureType::kEd25519;
    case KeyType::kRsa2048:
      return SignatureType::kRsa2048;
    case KeyType::kRsa3072:
      return SignatureType::kRsa3072;
  }
  return SignatureType::kNone;
}

// ---------------------------------------------------------------------------------------
// PublicKey

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  EVP_PKEY* raw = nullptr;
  {
    BioPtr bio = MemBio(pem);
    raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  }
  if (raw == nullptr) {
    ERR_clear_error();
    BioPtr bio = MemBio(pem);
    // The public half of a private key is fine too (imgtool verify -k accepts both).
    raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>(""));
  }
  if (raw == nullptr) {
    return CryptoError(Errc::kInvalidArgument, "not a PEM public or private key");
  }
  PkeyPtr pkey(raw);
  SMPKIT_ASSIGN_OR_RETURN(KeyType type, DetectType(raw));
  return PublicKey(std::move(pkey), type);
}

Result<std::string> PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), P(pkey_.get())) != 1) {
    return CryptoError(Errc::kCrypto, "cannot write public key PEM");
  }
  return BioString(bio.get());
}

Result<std::vector<uint8_t>> PublicKey::KeyBytes() const {
  EVP_PKEY* pkey = P(pkey_.get());
  bool rsa = type_ == KeyType::kRsa2048 || type_ == KeyType::kRsa3072;
  // RSA: PKCS#1 RSAPublicKey; others: SubjectPublicKeyInfo (§5).
  int n = rsa ? i2d_PublicKey(pkey, nullptr) : i2d_PUBKEY(pkey, nullptr);
  if (n <= 0) return CryptoError(Errc::kCrypto, "cannot encode public key");
  std::vector<uint8_t> out(static_cast<size_t>(n));
  unsigned char* p = out.data();
  int m = rsa ? i2d_PublicKey(pkey, &p) : i2d_PUBKEY(pkey, &p);
  if (m != n) return CryptoError(Errc::kCrypto, "cannot encode public key");
  return out;
}

Result<Digest> PublicKey::KeyHash(HashAlg alg) const {
  SMPKIT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, KeyBytes());
  return Hash(alg, bytes);
}

Status PublicKey::VerifyDigest(const Digest& digest, ConstByteSpan signature) const {
  EVP_PKEY* pkey = P(pkey_.get());
  if (type_ == KeyType::kEd25519) {
    // imgtool signs the digest bytes as the Ed25519 message (§6).
    MdCtxPtr md(EVP_MD_CTX_new());
    if (!md || EVP_DigestVerifyInit(md.get(), nullptr, nullptr, nullptr, pkey) != 1) {
      return CryptoError(Errc::kCrypto, "cannot init Ed25519 verify");
    }
    if (EVP_DigestVerify(md.get(), signature.data(), signature.size(), digest.bytes.data(),
                         digest.size) != 1) {
      ERR_clear_error();
      return Error(Errc::kCrypto, "Ed25519 signature does not verify");
    }
    return Ok();
  }
  CtxPtr ctx(EVP_PKEY_CTX_new(pkey, nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return CryptoError(Errc::kCrypto, "cannot init signature verify");
  }
  SMPKIT_TRY(SetupDigestCtx(ctx.get(), type_, digest.alg));
  size_t sig_len = signature.size();
  if (type_ == KeyType::kEcdsaP256 || type_ == KeyType::kEcdsaP384) {
    sig_len = DerSequenceLength(signature);
  }
  if (EVP_PKEY_verify(ctx.get(), signature.data(), sig_len, digest.bytes.data(), digest.size) !=
      1) {
    ERR_clear_error();
    return Error::Format(Errc::kCrypto, "%.*s signature does not verify",
                         static_cast<int>(KeyTypeName(type_).size()), KeyTypeName(type_).data());
  }
  return Ok();
}

// ---------------------------------------------------------------------------------------
// PrivateKey

Result<PrivateKey> PrivateKey::Generate(KeyType type) {
  EVP_PKEY* raw = nullptr;
  switch (type) {
    case KeyType::kEcdsaP256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyType::kEcdsaP384:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case KeyType::kEd25519:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyType::kRsa2048:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
      break;
    case KeyType::kRsa3072:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072});
      break;
  }
  if (raw == nullptr) return CryptoError(Errc::kCrypto, "key generation failed");
  return PrivateKey(PkeyPtr(raw), type);
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  BioPtr bio = MemBio(pem);
  // An empty passphrase makes encrypted keys fail instead of prompting on the terminal.
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>(""));
  if (raw == nullptr) {
    return CryptoError(Errc::kInvalidArgument, "not an unencrypted PEM private key");
  }
  PkeyPtr pkey(raw);
  SMPKIT_ASSIGN_OR_RETURN(KeyType type, DetectType(raw));
  return PrivateKey(std::move(pkey), type);
}

Result<std::string> PrivateKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), P(pkey_.get()), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return CryptoError(Errc::kCrypto, "cannot write private key PEM");
  }
  return BioString(bio.get());
}

Result<PublicKey> PrivateKey::Public() const {
  // Round-trip through DER SPKI so the PublicKey holds no private material.
  EVP_PKEY* pkey = P(pkey_.get());
  int n = i2d_PUBKEY(pkey, nullptr);
  if (n <= 0) return CryptoError(Errc::kCrypto, "cannot encode public key");
  std::vector<uint8_t> der(static_cast<size_t>(n));
  unsigned char* p = der.data();
  i2d_PUBKEY(pkey, &p);
  const unsigned char* q = der.data();
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &q, n);
  if (pub == nullptr) return CryptoError(Errc::kCrypto, "cannot decode public key");
  return PublicKey(PkeyPtr(pub), type_);
}

Result<std::vector<uint8_t>> PrivateKey::SignDigest(const Digest& digest) const {
  EVP_PKEY* pkey = P(pkey_.get());
  std::vector<uint8_t> sig;
  if (type_ == KeyType::kEd25519) {
    MdCtxPtr md(EVP_MD_CTX_new());
    size_t len = 0;
    if (!md || EVP_DigestSignInit(md.get(), nullptr, nullptr, nullptr, pkey) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &len, digest.bytes.data(), digest.size) != 1) {
      return CryptoError(Errc::kCrypto, "Ed25519 sign failed");
    }
    sig.resize(len);
    if (EVP_DigestSign(md.get(), sig.data(), &len, digest.bytes.data(), digest.size) != 1) {
      return CryptoError(Errc::kCrypto, "Ed25519 sign failed");
    }
    sig.resize(len);
    return sig;
  }
  CtxPtr ctx(EVP_PKEY_CTX_new(pkey, nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) {
    return CryptoError(Errc::kCrypto, "cannot init signing");
  }
  SMPKIT_TRY(SetupDigestCtx(ctx.get(), type_, digest.alg));
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.bytes.data(), digest.size) != 1) {
    return CryptoError(Errc::kCrypto, "signing failed");
  }
  sig.resize(len);
  if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.bytes.data(), digest.size) != 1) {
    return CryptoError(Errc::kCrypto, "signing failed");
  }
  sig.resize(len);
  return sig;
}

}  // namespace smpkit::mcuboot
