#include "smpkit/mcuboot/image.h"
#include "openssl_md.h"

#include <openssl/evp.h>

#include <bitset>
#include <charconv>
#include <cstdio>

#include "smpkit/base/hex.h"
#include "smpkit/mcuboot/keys.h"

namespace smpkit::mcuboot {

std::string_view TlvTypeName(uint16_t type) {
  switch (type) {
    case kTlvKeyHash:
      return "KEYHASH";
    case kTlvPubKey:
      return "PUBKEY";
    case kTlvSha256:
      return "SHA256";
    case kTlvSha384:
      return "SHA384";
    case kTlvSha512:
      return "SHA512";
    case kTlvRsa2048:
      return "RSA2048";
    case kTlvEcdsaSig:
      return "ECDSASIG";
    case kTlvRsa3072:
      return "RSA3072";
    case kTlvEd25519:
      return "ED25519";
    case kTlvSigPure:
      return "SIG_PURE";
    case kTlvEncRsa2048:
      return "ENCRSA2048";
    case kTlvEncKw:
      return "ENCKW";
    case kTlvEncEc256:
      return "ENCEC256";
    case kTlvEncX25519:
      return "ENCX25519";
    case kTlvEncX25519Sha512:
      return "ENCX25519_SHA512";
    case kTlvDependency:
      return "DEPENDENCY";
    case kTlvSecCnt:
      return "SEC_CNT";
    case kTlvBootRecord:
      return "BOOT_RECORD";
    case kTlvDecompSize:
      return "DECOMP_SIZE";
    case kTlvDecompSha:
      return "DECOMP_SHA";
    case kTlvDecompSignature:
      return "DECOMP_SIGNATURE";
    case kTlvCompDecSize:
      return "COMP_DEC_SIZE";
    case kTlvUuidVid:
      return "UUID_VID";
    case kTlvUuidCid:
      return "UUID_CID";
    default:
      return "UNKNOWN";
  }
}

// ---------------------------------------------------------------------------------------
// Version

namespace {

// Parses one decimal component without leading zeros, at most `max`.
bool ParseComponent(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 10) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

}  // namespace

Result<ImageVersion> ImageVersion::Parse(std::string_view text) {
  ImageVersion v;
  std::string_view rest = text;
  std::string_view build_text;
  bool has_build = false;
  if (size_t plus = rest.find('+'); plus != std::string_view::npos) {
    build_text = rest.substr(plus + 1);
    rest = rest.substr(0, plus);
    has_build = true;
  }
  std::string_view parts[4];
  size_t n = 0;
  while (true) {
    size_t dot = rest.find('.');
    if (n == 4) {
      return Error::Format(Errc::kInvalidArgument, "version \"%.*s\" has too many parts",
                           static_cast<int>(text.size()), text.data());
    }
    parts[n++] = rest.substr(0, dot);
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot + 1);
  }
  // "M.m.r.b" (SMP form) is accepted as well as "M.m.r+b", but not both at once.
  if (n == 4 && has_build) {
    return Error::Format(Errc::kInvalidArgument, "version \"%.*s\" has two build numbers",
                         static_cast<int>(text.size()), text.data());
  }
  if (has_build && n != 3) {
    return Error::Format(Errc::kInvalidArgument,
                         "version \"%.*s\": build number needs major.minor.revision",
                         static_cast<int>(text.size()), text.data());
  }
  static constexpr const char* kNames[4] = {"major", "minor", "revision", "build"};
  static constexpr uint64_t kMax[4] = {0xFF, 0xFF, 0xFFFF, 0xFFFFFFFF};
  uint64_t values[4] = {};
  for (size_t i = 0; i < n; ++i) {
    if (!ParseComponent(parts[i], kMax[i], &values[i])) {
      return Error::Format(Errc::kInvalidArgument, "version \"%.*s\": bad %s \"%.*s\" (max %llu)",
                           static_cast<int>(text.size()), text.data(), kNames[i],
                           static_cast<int>(parts[i].size()), parts[i].data(),
                           static_cast<unsigned long long>(kMax[i]));
    }
  }
  if (has_build && !ParseComponent(build_text, kMax[3], &values[3])) {
    return Error::Format(Errc::kInvalidArgument, "version \"%.*s\": bad build \"%.*s\"",
                         static_cast<int>(text.size()), text.data(),
                         static_cast<int>(build_text.size()), build_text.data());
  }
  v.major = static_cast<uint8_t>(values[0]);
  v.minor = static_cast<uint8_t>(values[1]);
  v.revision = static_cast<uint16_t>(values[2]);
  v.build = static_cast<uint32_t>(values[3]);
  return v;
}

std::string_view ImageVersion::Format(std::span<char> out) const {
  if (out.empty()) return {};
  int n;
  if (build != 0) {
    n = std::snprintf(out.data(), out.size(), "%u.%u.%u.%lu", unsigned{major}, unsigned{minor},
                      unsigned{revision}, static_cast<unsigned long>(build));
  } else {
    n = std::snprintf(out.data(), out.size(), "%u.%u.%u", unsigned{major}, unsigned{minor},
                      unsigned{revision});
  }
  if (n < 0) return {};
  size_t len = std::min(static_cast<size_t>(n), out.size() - 1);
  return {out.data(), len};
}

std::string ImageVersion::ToString() const {
  char buf[kMaxVersionStringSize];
  return std::string(Format(buf));
}

std::string ImageVersion::ToImgtoolString() const {
  char buf[32];
  int n = std::snprintf(buf, sizeof(buf), "%u.%u.%u+%lu", unsigned{major}, unsigned{minor},
                        unsigned{revision}, static_cast<unsigned long>(build));
  return std::string(buf, static_cast<size_t>(n));
}

int CompareVersions(const ImageVersion& a, const ImageVersion& b, bool use_build) {
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (x > y ? 1 : 0); };
  if (int c = cmp(a.major, b.major)) return c;
  if (int c = cmp(a.minor, b.minor)) return c;
  if (int c = cmp(a.revision, b.revision)) return c;
  return use_build ? cmp(a.build, b.build) : 0;
}

// ---------------------------------------------------------------------------------------
// Header

Result<ImageHeader> ImageHeader::Decode(ConstByteSpan data) {
  if (data.size() < kImageHeaderSize) {
    return Error::Format(Errc::kTruncated, "image shorter than the 32-byte header (%zu bytes)",
                         data.size());
  }
  const uint8_t* p = data.data();
  ImageHeader h;
  h.magic = LoadLe32(p + 0);
  if (h.magic != kImageMagic) {
    if (h.magic == 0xFFFFFFFF) {
      return Error(Errc::kCorrupt, "no image: header magic is erased (0xffffffff)");
    }
    if (h.magic == kImageMagicV1) {
      return Error(Errc::kCorrupt, "obsolete v1 image header magic 0x96f3b83c");
    }
    return Error::Format(Errc::kCorrupt, "bad image header magic 0x%08x (expected 0x96f3b83d)",
                         h.magic);
  }
  h.load_addr = LoadLe32(p + 4);
  h.hdr_size = LoadLe16(p + 8);
  h.protect_tlv_size = LoadLe16(p + 10);
  h.img_size = LoadLe32(p + 12);
  h.flags = LoadLe32(p + 16);
  h.version.major = p[20];
  h.version.minor = p[21];
  h.version.revision = LoadLe16(p + 22);
  h.version.build = LoadLe32(p + 24);
  h.pad1 = LoadLe32(p + 28);
  if (h.hdr_size < kImageHeaderSize) {
    return Error::Format(Errc::kCorrupt, "header size %u is smaller than 32", h.hdr_size);
  }
  return h;
}

void ImageHeader::Encode(std::span<uint8_t, kImageHeaderSize> out) const {
  uint8_t* p = out.data();
  StoreLe32(p + 0, magic);
  StoreLe32(p + 4, load_addr);
  StoreLe16(p + 8, hdr_size);
  StoreLe16(p + 10, protect_tlv_size);
  StoreLe32(p + 12, img_size);
  StoreLe32(p + 16, flags);
  p[20] = version.major;
  p[21] = version.minor;
  StoreLe16(p + 22, version.revision);
  StoreLe32(p + 24, version.build);
  StoreLe32(p + 28, pad1);
}

// ---------------------------------------------------------------------------------------
// TLV iteration

TlvBlock::Iterator::Iterator(ConstByteSpan image, size_t pos, size_t end)
    : image_(image), pos_(pos), end_(end) {
  Load();
}

void TlvBlock::Iterator::Load() {
  // Parse() checked every entry, but stay in bounds even for hand-built blocks.
  if (pos_ + kTlvEntryHeaderSize > end_ || end_ > image_.size()) {
    pos_ = end_;
    current_ = {};
    return;
  }
  const uint8_t* p = image_.data() + pos_;
  uint16_t len = LoadLe16(p + 2);
  if (pos_ + kTlvEntryHeaderSize + len > end_) {
    pos_ = end_;
    current_ = {};
    return;
  }
  current_.type = LoadLe16(p);
  current_.value = image_.subspan(pos_ + kTlvEntryHeaderSize, len);
  current_.offset = pos_;
}

TlvBlock::Iterator& TlvBlock::Iterator::operator++() {
  if (pos_ < end_) {
    pos_ += kTlvEntryHeaderSize + current_.value.size();
    Load();
  }
  return *this;
}

TlvBlock::Iterator TlvBlock::begin() const {
  if (!present()) return Iterator();
  return Iterator(image_, offset_ + kTlvInfoSize, offset_ + total_);
}

TlvBlock::Iterator TlvBlock::end() const {
  if (!present()) return Iterator();
  return Iterator(image_, offset_ + total_, offset_ + total_);
}

std::optional<Tlv> TlvBlock::Find(uint16_t type) const {
  for (const Tlv& t : *this) {
    if (t.type == type) return t;
  }
  return std::nullopt;
}

size_t TlvBlock::Count(uint16_t type) const {
  size_t n = 0;
  for (const Tlv& t : *this) n += t.type == type ? 1 : 0;
  return n;
}

// ---------------------------------------------------------------------------------------
// Parse

namespace {

// Types MCUboot's allow-list accepts outside the hashed region (§3).
bool AllowedUnprotected(uint16_t type) {
  switch (type) {
    case kTlvKeyHash:
    case kTlvPubKey:
    case kTlvSha256:
    case kTlvSha384:
    case kTlvSha512:
    case kTlvRsa2048:
    case kTlvEcdsa224:
    case kTlvEcdsaSig:
    case kTlvRsa3072:
    case kTlvEd25519:
    case kTlvSigPure:
    case kTlvEncRsa2048:
    case kTlvEncKw:
    case kTlvEncEc256:
    case kTlvEncX25519:
    case kTlvEncX25519Sha512:
      return true;
    default:
      return false;
  }
}

// Types that make no sense twice (a second copy could shadow the first for some reader).
bool SingleInstance(uint16_t type) {
  switch (type) {
    case kTlvSha256:
    case kTlvSha384:
    case kTlvSha512:
    case kTlvSigPure:
    case kTlvEncRsa2048:
    case kTlvEncKw:
    case kTlvEncEc256:
    case kTlvEncX25519:
    case kTlvEncX25519Sha512:
    case kTlvSecCnt:
    case kTlvBootRecord:
    case kTlvDecompSize:
    case kTlvDecompSha:
    case kTlvDecompSignature:
    case kTlvCompDecSize:
    case kTlvUuidVid:
    case kTlvUuidCid:
      return true;
    default:
      return false;
  }
}

Result<TlvBlock> ParseBlock(ConstByteSpan data, size_t off, uint16_t want_magic, const char* what,
                            bool strict, bool protected_block) {
  if (off + kTlvInfoSize > data.size()) {
    return Error::Format(Errc::kTruncated, "%sTLV info at 0x%zx is past the data end 0x%zx", what,
                         off, data.size());
  }
  uint16_t magic = LoadLe16(&data[off]);
  uint16_t total = LoadLe16(&data[off + 2]);
  if (magic != want_magic) {
    return Error::Format(Errc::kCorrupt, "%sTLV info magic at 0x%zx is 0x%04x (expected 0x%04x)",
                         what, off, magic, want_magic);
  }
  if (total < kTlvInfoSize) {
    return Error::Format(Errc::kCorrupt, "%sTLV area length 0x%x at 0x%zx is below 4", what, total,
                         off);
  }
  size_t end = off + total;
  if (end > data.size()) {
    return Error::Format(Errc::kTruncated,
                         "%sTLV area length 0x%x at 0x%zx exceeds image end 0x%zx", what, total,
                         off, data.size());
  }
  std::bitset<256> seen;
  size_t pos = off + kTlvInfoSize;
  while (pos < end) {
    if (end - pos < kTlvEntryHeaderSize) {
      return Error::Format(Errc::kCorrupt, "%sTLV entry header at 0x%zx crosses area end 0x%zx",
                           what, pos, end);
    }
    uint16_t type = LoadLe16(&data[pos]);
    uint16_t len = LoadLe16(&data[pos + 2]);
    if (pos + kTlvEntryHeaderSize + len > end) {
      return Error::Format(Errc::kCorrupt,
                           "%sTLV 0x%02x at 0x%zx: length %u exceeds area end 0x%zx", what, type,
                           pos, len, end);
    }
    if (strict) {
      if (!protected_block && !AllowedUnprotected(type)) {
        return Error::Format(Errc::kCorrupt,
                             "TLV 0x%02x (%.*s) at 0x%zx is not allowed outside the protected "
                             "area",
                             type, static_cast<int>(TlvTypeName(type).size()),
                             TlvTypeName(type).data(), pos);
      }
      if (SingleInstance(type)) {
        if (seen[type & 0xFF]) {
          return Error::Format(Errc::kCorrupt, "duplicate %.*s TLV at 0x%zx",
                               static_cast<int>(TlvTypeName(type).size()), TlvTypeName(type).data(),
                               pos);
        }
        seen[type & 0xFF] = true;
      }
    }
    pos += kTlvEntryHeaderSize + len;
  }
  return TlvBlock(data, off, magic, total);
}

}  // namespace

Result<ParsedImage> Parse(ConstByteSpan data, const ParseOptions& options) {
  SMPKIT_ASSIGN_OR_RETURN(ImageHeader header, ImageHeader::Decode(data));
  ParsedImage img;
  img.header = header;
  uint64_t body_end = uint64_t{header.hdr_size} + header.img_size;
  if (body_end > data.size()) {
    return Error::Format(Errc::kTruncated,
                         "image body ends at 0x%llx, past the data end 0x%zx (img_size 0x%x)",
                         static_cast<unsigned long long>(body_end), data.size(), header.img_size);
  }
  size_t off = static_cast<size_t>(body_end);
  if (header.protect_tlv_size != 0) {
    SMPKIT_ASSIGN_OR_RETURN(img.protected_tlvs, ParseBlock(data, off, kTlvProtInfoMagic,
                                                           "protected ", options.strict, true));
    if (img.protected_tlvs.total() != header.protect_tlv_size) {
      return Error::Format(Errc::kCorrupt,
                           "protected TLV area length 0x%x != header protect_tlv_size 0x%x",
                           img.protected_tlvs.total(), header.protect_tlv_size);
    }
    off += header.protect_tlv_size;
  } else if (off + 2 <= data.size() && LoadLe16(&data[off]) == kTlvProtInfoMagic) {
    return Error::Format(Errc::kCorrupt,
                         "protected TLV area at 0x%zx but header protect_tlv_size is 0", off);
  }
  size_t hashed_end = off;
  SMPKIT_ASSIGN_OR_RETURN(img.tlvs,
                          ParseBlock(data, off, kTlvInfoMagic, "", options.strict, false));
  size_t image_end = off + img.tlvs.total();
  img.image = data.first(image_end);
  img.body = data.subspan(header.hdr_size, header.img_size);
  img.hashed = data.first(hashed_end);
  img.after = data.subspan(image_end);
  // Blocks must view the image span (not the whole input) so offsets stay image-relative.
  img.protected_tlvs = img.protected_tlvs.present()
                           ? TlvBlock(img.image, img.protected_tlvs.offset(),
                                      img.protected_tlvs.magic(), img.protected_tlvs.total())
                           : TlvBlock();
  img.tlvs = TlvBlock(img.image, img.tlvs.offset(), img.tlvs.magic(), img.tlvs.total());
  return img;
}

// ---------------------------------------------------------------------------------------
// Hashes

size_t HashSize(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256:
      return 32;
    case HashAlg::kSha384:
      return 48;
    case HashAlg::kSha512:
      return 64;
  }
  return 0;
}

uint16_t HashTlvType(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256:
      return kTlvSha256;
    case HashAlg::kSha384:
      return kTlvSha384;
    case HashAlg::kSha512:
      return kTlvSha512;
  }
  return 0;
}

std::optional<HashAlg> HashAlgForTlv(uint16_t tlv_type) {
  switch (tlv_type) {
    case kTlvSha256:
      return HashAlg::kSha256;
    case kTlvSha384:
      return HashAlg::kSha384;
    case kTlvSha512:
      return HashAlg::kSha512;
    default:
      return std::nullopt;
  }
}

namespace {
using internal::Md;
}  // namespace

Hasher::Hasher(HashAlg alg) : alg_(alg) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ctx_ = ctx;
  failed_ = ctx == nullptr || EVP_DigestInit_ex(ctx, Md(alg), nullptr) != 1;
}

Hasher::~Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

Status Hasher::Update(ConstByteSpan data) {
  if (failed_) return Error(Errc::kCrypto, "hash context failed");
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1) {
    failed_ = true;
    return Error(Errc::kCrypto, "hash update failed");
  }
  return Ok();
}

Result<Digest> Hasher::Final() {
  if (failed_) return Error(Errc::kCrypto, "hash context failed");
  Digest d;
  d.alg = alg_;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), d.bytes.data(), &len) != 1) {
    failed_ = true;
    return Error(Errc::kCrypto, "hash final failed");
  }
  failed_ = true;  // a context is single-use
  d.size = len;
  return d;
}

Result<Digest> Hash(HashAlg alg, ConstByteSpan data) {
  Hasher h(alg);
  SMPKIT_TRY(h.Update(data));
  return h.Final();
}

Result<Digest> ComputeHash(const ParsedImage& image, HashAlg alg) {
  return Hash(alg, image.hashed);
}

namespace {
Result<Digest> DigestFromTlv(const Tlv& t, HashAlg alg) {
  if (t.value.size() != HashSize(alg)) {
    return Error::Format(Errc::kCorrupt, "%.*s TLV at 0x%zx has length %zu, expected %zu",
                         static_cast<int>(TlvTypeName(t.type).size()), TlvTypeName(t.type).data(),
                         t.offset, t.value.size(), HashSize(alg));
  }
  Digest d;
  d.alg = alg;
  d.size = t.value.size();
  std::copy(t.value.begin(), t.value.end(), d.bytes.begin());
  return d;
}
}  // namespace

Result<Digest> StoredHash(const ParsedImage& image, std::optional<HashAlg> alg) {
  for (const Tlv& t : image.tlvs) {
    std::optional<HashAlg> a = HashAlgForTlv(t.type);
    if (!a || (alg && *a != *alg)) continue;
    return DigestFromTlv(t, *a);
  }
  if (alg) {
    return Error::Format(Errc::kNotFound, "no %.*s TLV in the TLV area",
                         static_cast<int>(TlvTypeName(HashTlvType(*alg)).size()),
                         TlvTypeName(HashTlvType(*alg)).data());
  }
  return Error(Errc::kNotFound, "no hash TLV (SHA256/SHA384/SHA512) in the TLV area");
}

// ---------------------------------------------------------------------------------------
// Verification

std::string_view SignatureTypeName(SignatureType type) {
  switch (type) {
    case SignatureType::kNone:
      return "none";
    case SignatureType::kEcdsaP256:
      return "ECDSA P-256";
    case SignatureType::kEcdsaP384:
      return "ECDSA P-384";
    case SignatureType::kEd25519:
      return "Ed25519";
    case SignatureType::kRsa2048:
      return "RSA-2048 PSS";
    case SignatureType::kRsa3072:
      return "RSA-3072 PSS";
  }
  return "unknown";
}

namespace {
bool HashAllowedForKey(HashAlg alg, KeyType key) {
  switch (key) {
    case KeyType::kEcdsaP256:
      return alg == HashAlg::kSha256;
    case KeyType::kEcdsaP384:
      return alg == HashAlg::kSha384;
    case KeyType::kEd25519:
      return alg == HashAlg::kSha256 || alg == HashAlg::kSha512;
    case KeyType::kRsa2048:
    case KeyType::kRsa3072:
      return alg == HashAlg::kSha256;
  }
  return false;
}

}  // namespace

Result<VerifyResult> Verify(const ParsedImage& image, const PublicKey* key) {
  SMPKIT_ASSIGN_OR_RETURN(Digest stored, StoredHash(image));
  SMPKIT_ASSIGN_OR_RETURN(Digest computed, ComputeHash(image, stored.alg));
  std::string_view hash_name = TlvTypeName(HashTlvType(stored.alg));
  if (!(stored == computed)) {
    return Error::Format(Errc::kCrypto, "image hash mismatch: %.*s TLV %s... != computed %s...",
                         static_cast<int>(hash_name.size()), hash_name.data(),
                         HexEncode(stored.view(), 8).c_str(), HexEncode(computed.view(), 8).c_str());
  }
  VerifyResult result;
  result.digest = computed;
  result.version = image.header.version;
  if (key == nullptr) return result;

  KeyType kt = key->type();
  std::string_view key_name = KeyTypeName(kt);
  if (!HashAllowedForKey(stored.alg, kt)) {
    return Error::Format(Errc::kCrypto, "hash type %.*s is not allowed for a %.*s key",
                         static_cast<int>(hash_name.size()), hash_name.data(),
                         static_cast<int>(key_name.size()), key_name.data());
  }
  uint16_t sig_type = SignatureTlvType(kt);
  bool key_selected = true;  // without KEYHASH/PUBKEY a signature applies to any key
  size_t sigs_of_type = 0, skipped_by_keyhash = 0, failed = 0;
  for (const Tlv& t : image.tlvs) {
    if (t.type == kTlvKeyHash) {
      SMPKIT_ASSIGN_OR_RETURN(Digest kh, key->KeyHash(stored.alg));
      key_selected = !t.value.empty() && t.value.size() <= kh.size &&
                     std::equal(t.value.begin(), t.value.end(), kh.bytes.begin());
    } else if (t.type == kTlvPubKey) {
      SMPKIT_ASSIGN_OR_RETURN(std::vector<uint8_t> kb, key->KeyBytes());
      key_selected = std::equal(t.value.begin(), t.value.end(), kb.begin(), kb.end());
    } else if (t.type == sig_type) {
      ++sigs_of_type;
      if (!key_selected) {
        ++skipped_by_keyhash;
        continue;
      }
      if (key->VerifyDigest(computed, t.value).ok()) {
        result.signature = SignatureTypeFor(kt);
        return result;
      }
      ++failed;
    }
  }
  std::string_view sig_name = TlvTypeName(sig_type);
  if (sigs_of_type == 0) {
    return Error::Format(Errc::kCrypto, "no signature found for the given %.*s key (no %.*s TLV)",
                         static_cast<int>(key_name.size()), key_name.data(),
                         static_cast<int>(sig_name.size()), sig_name.data());
  }
  if (failed == 0) {
    return Error::Format(Errc::kCrypto,
                         "no signature found for the given %.*s key (KEYHASH does not match)",
                         static_cast<int>(key_name.size()), key_name.data());
  }
  return Error::Format(Errc::kCrypto, "%.*s signature does not verify with the given %.*s key",
                       static_cast<int>(sig_name.size()), sig_name.data(),
                       static_cast<int>(key_name.size()), key_name.data());
}

Result<VerifyResult> Verify(ConstByteSpan data, const PublicKey* key) {
  ParseOptions opts;
  opts.strict = false;  // like imgtool verify: unknown TLVs are simply skipped
  SMPKIT_ASSIGN_OR_RETURN(ParsedImage img, Parse(data, opts));
  return Verify(img, key);
}

// ---------------------------------------------------------------------------------------
// Protected TLV payloads

Result<Dependency> DecodeDependency(ConstByteSpan value) {
  if (value.size() != 12) {
    return Error::Format(Errc::kCorrupt, "DEPENDENCY TLV has length %zu, expected 12",
                         value.size());
  }
  Dependency d;
  d.image_index = value[0];
  d.min_version.major = value[4];
  d.min_version.minor = value[5];
  d.min_version.revision = LoadLe16(&value[6]);
  d.min_version.build = LoadLe32(&value[8]);
  return d;
}

Result<std::optional<uint32_t>> SecurityCounter(const ParsedImage& image) {
  std::optional<Tlv> t = image.protected_tlvs.Find(kTlvSecCnt);
  if (!t) return std::optional<uint32_t>();
  if (t->value.size() != 4) {
    return Error::Format(Errc::kCorrupt, "SEC_CNT TLV has length %zu, expected 4", t->value.size());
  }
  return std::optional<uint32_t>(LoadLe32(t->value.data()));
}

}  // namespace smpkit::mcuboot
