#pragma once
// MCUboot image format (shared/spec/mcuboot.md §2-§7): header, TLV blocks, hash and
// signature verification. Parsing is allocation-free: a ParsedImage is a view over the
// caller's bytes. Byte order is little-endian throughout.

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::mcuboot {

class PublicKey;  // smpkit/mcuboot/keys.h

inline constexpr uint32_t kImageMagic = 0x96F3B83D;
inline constexpr uint32_t kImageMagicV1 = 0x96F3B83C;  // obsolete, rejected
inline constexpr size_t kImageHeaderSize = 32;
inline constexpr uint16_t kTlvInfoMagic = 0x6907;      // unprotected TLV block
inline constexpr uint16_t kTlvProtInfoMagic = 0x6908;  // protected TLV block
inline constexpr size_t kTlvInfoSize = 4;
inline constexpr size_t kTlvEntryHeaderSize = 4;

// ih_flags bits (§2.1).
inline constexpr uint32_t kFlagPic = 0x00000001;
inline constexpr uint32_t kFlagEncryptedAes128 = 0x00000004;
inline constexpr uint32_t kFlagEncryptedAes256 = 0x00000008;
inline constexpr uint32_t kFlagNonBootable = 0x00000010;
inline constexpr uint32_t kFlagRamLoad = 0x00000020;
inline constexpr uint32_t kFlagRomFixed = 0x00000100;
inline constexpr uint32_t kFlagCompressedLzma1 = 0x00000200;
inline constexpr uint32_t kFlagCompressedLzma2 = 0x00000400;
inline constexpr uint32_t kFlagCompressedArmThumb = 0x00000800;

// TLV types (§3.1). Types are u16; custom vendor types may appear too.
inline constexpr uint16_t kTlvKeyHash = 0x01;
inline constexpr uint16_t kTlvPubKey = 0x02;
inline constexpr uint16_t kTlvSha256 = 0x10;
inline constexpr uint16_t kTlvSha384 = 0x11;
inline constexpr uint16_t kTlvSha512 = 0x12;
inline constexpr uint16_t kTlvRsa2048 = 0x20;
inline constexpr uint16_t kTlvEcdsa224 = 0x21;
inline constexpr uint16_t kTlvEcdsaSig = 0x22;
inline constexpr uint16_t kTlvRsa3072 = 0x23;
inline constexpr uint16_t kTlvEd25519 = 0x24;
inline constexpr uint16_t kTlvSigPure = 0x25;
inline constexpr uint16_t kTlvEncRsa2048 = 0x30;
inline constexpr uint16_t kTlvEncKw = 0x31;
inline constexpr uint16_t kTlvEncEc256 = 0x32;
inline constexpr uint16_t kTlvEncX25519 = 0x33;
inline constexpr uint16_t kTlvEncX25519Sha512 = 0x34;
inline constexpr uint16_t kTlvDependency = 0x40;
inline constexpr uint16_t kTlvSecCnt = 0x50;
inline constexpr uint16_t kTlvBootRecord = 0x60;
inline constexpr uint16_t kTlvDecompSize = 0x70;
inline constexpr uint16_t kTlvDecompSha = 0x71;
inline constexpr uint16_t kTlvDecompSignature = 0x72;
inline constexpr uint16_t kTlvCompDecSize = 0x73;
inline constexpr uint16_t kTlvUuidVid = 0x74;
inline constexpr uint16_t kTlvUuidCid = 0x75;

// imgtool's name of a TLV type ("SHA256", "KEYHASH", "ECDSASIG", ...), or "UNKNOWN".
std::string_view TlvTypeName(uint16_t type);

// ---------------------------------------------------------------------------------------
// Version

// MCUboot image_version. operator== compares all four fields; Compare() follows MCUboot.
struct ImageVersion {
  uint8_t major = 0;
  uint8_t minor = 0;
  uint16_t revision = 0;
  uint32_t build = 0;

  friend bool operator==(const ImageVersion&, const ImageVersion&) = default;

  // Parses imgtool syntax "maj[.min[.rev[+build]]]" (decimal, each part in range).
  // Errors: kInvalidArgument naming the bad part.
  static Result<ImageVersion> Parse(std::string_view text);

  // SMP form: "1.2.3", or "1.2.3.7" when build != 0 (smp-protocol.md §6.3).
  std::string ToString() const;
  // imgtool form: "1.2.3+4" (always with the build number).
  std::string ToImgtoolString() const;
  // Allocation-free SMP form; returns the written prefix of `out` (truncated if too small).
  std::string_view Format(std::span<char> out) const;
};
inline constexpr size_t kMaxVersionStringSize = 25;  // "255.255.65535.4294967295" + NUL

// -1/0/+1 by major, minor, revision; build number only if use_build (§13).
int CompareVersions(const ImageVersion& a, const ImageVersion& b, bool use_build = false);

// ---------------------------------------------------------------------------------------
// Header

struct ImageHeader {
  uint32_t magic = kImageMagic;
  uint32_t load_addr = 0;
  uint16_t hdr_size = kImageHeaderSize;
  uint16_t protect_tlv_size = 0;
  uint32_t img_size = 0;
  uint32_t flags = 0;
  ImageVersion version;
  uint32_t pad1 = 0;

  friend bool operator==(const ImageHeader&, const ImageHeader&) = default;

  // Decodes the first 32 bytes of `data`.
  // Errors: kTruncated (< 32 bytes); kCorrupt for a wrong magic (erased, v1, other) or
  // hdr_size < 32.
  static Result<ImageHeader> Decode(ConstByteSpan data);
  // Writes the 32 header bytes.
  void Encode(std::span<uint8_t, kImageHeaderSize> out) const;

  // hdr_size + img_size + protect_tlv_size (the hashed region), in 64 bits (no overflow).
  uint64_t HashedSize() const { return uint64_t{hdr_size} + img_size + protect_tlv_size; }
  bool bootable() const { return (flags & kFlagNonBootable) == 0; }
};

// ---------------------------------------------------------------------------------------
// TLVs

struct Tlv {
  uint16_t type = 0;
  ConstByteSpan value;
  size_t offset = 0;  // offset of the entry header from the start of the image
};

// One TLV block (protected 0x6908 or unprotected 0x6907); a view, already bounds-checked
// by Parse(). Iterating yields entries in file order.
class TlvBlock {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Tlv;
    using difference_type = std::ptrdiff_t;
    using pointer = const Tlv*;
    using reference = const Tlv&;

    Iterator() = default;
    const Tlv& operator*() const { return current_; }
    const Tlv* operator->() const { return &current_; }
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator copy = *this;
      ++*this;
      return copy;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.pos_ == b.pos_; }

   private:
    friend class TlvBlock;
    Iterator(ConstByteSpan image, size_t pos, size_t end);
    void Load();
    ConstByteSpan image_;
    size_t pos_ = 0;
    size_t end_ = 0;
    Tlv current_;
  };

  TlvBlock() = default;
  // `image` is the whole image; the block's info header is at `offset`, its entries end at
  // offset + total. Only Parse() builds checked blocks.
  TlvBlock(ConstByteSpan image, size_t offset, uint16_t magic, uint16_t total)
      : image_(image), offset_(offset), magic_(magic), total_(total) {}

  bool present() const { return total_ != 0; }
  uint16_t magic() const { return magic_; }
  uint16_t total() const { return total_; }  // tlv_tot, including the 4-byte info
  size_t offset() const { return offset_; }  // offset of the info header
  Iterator begin() const;
  Iterator end() const;
  // First entry of `type`, if any.
  std::optional<Tlv> Find(uint16_t type) const;
  size_t Count(uint16_t type) const;

 private:
  ConstByteSpan image_;
  size_t offset_ = 0;
  uint16_t magic_ = 0;
  uint16_t total_ = 0;
};

struct ParseOptions {
  // Reject (kCorrupt) what MCUboot's allow-list / policy would: a type not allowed in the
  // unprotected block (only hash, key and signature/encryption TLVs are), and a second
  // copy of a single-instance TLV (hash, SEC_CNT, BOOT_RECORD, UUIDs, SIG_PURE, ...).
  bool strict = true;
};

// A validated view over an image held in memory.
struct ParsedImage {
  ImageHeader header;
  ConstByteSpan image;      // [0, total size): header, body, both TLV blocks
  ConstByteSpan body;       // [hdr_size, hdr_size + img_size)
  ConstByteSpan hashed;     // [0, hdr_size + img_size + protect_tlv_size)
  TlvBlock protected_tlvs;  // present() == false if there is none
  TlvBlock tlvs;            // the unprotected block (always present)
  ConstByteSpan after;      // bytes of the input after the image (padding, trailer)

  size_t size() const { return image.size(); }
};

// Parses and bounds-checks an image at the start of `data` (§7 steps 1-2 + every TLV).
// Errors (all name the offending field/offset):
//   kTruncated       data shorter than a header / the body / a TLV info or entry
//   kCorrupt         bad magic, hdr_size < 32, TLV info magic wrong, protect_tlv_size !=
//                    protected tlv_tot, TLV entry past its block end, tlv_tot < 4,
//                    unknown/disallowed or duplicate TLV (strict)
Result<ParsedImage> Parse(ConstByteSpan data, const ParseOptions& options = {});

// ---------------------------------------------------------------------------------------
// Hashes

enum class HashAlg : uint8_t { kSha256, kSha384, kSha512 };
size_t HashSize(HashAlg alg);
uint16_t HashTlvType(HashAlg alg);
std::optional<HashAlg> HashAlgForTlv(uint16_t tlv_type);

struct Digest {
  HashAlg alg = HashAlg::kSha256;
  std::array<uint8_t, 64> bytes{};
  size_t size = 0;
  ConstByteSpan view() const { return {bytes.data(), size}; }
  friend bool operator==(const Digest& a, const Digest& b) {
    return a.alg == b.alg && a.size == b.size && a.bytes == b.bytes;
  }
};

// Incremental hash (e.g. over flash read in chunks). Errors: kCrypto if OpenSSL fails.
class Hasher {
 public:
  explicit Hasher(HashAlg alg);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  Status Update(ConstByteSpan data);
  Result<Digest> Final();

 private:
  HashAlg alg_;
  void* ctx_ = nullptr;  // EVP_MD_CTX
  bool failed_ = false;
};

Result<Digest> Hash(HashAlg alg, ConstByteSpan data);
// Hash of the hashed region (§4) of a parsed image.
Result<Digest> ComputeHash(const ParsedImage& image, HashAlg alg = HashAlg::kSha256);

// The image's hash TLV: prefers SHA256, then SHA384, then SHA512 (or only `alg`).
// Errors: kNotFound if there is none; kCorrupt if its length is wrong for the type.
Result<Digest> StoredHash(const ParsedImage& image, std::optional<HashAlg> alg = {});

// ---------------------------------------------------------------------------------------
// Verification

enum class SignatureType : uint8_t { kNone, kEcdsaP256, kEcdsaP384, kEd25519, kRsa2048, kRsa3072 };
std::string_view SignatureTypeName(SignatureType type);

struct VerifyResult {
  Digest digest;                                   // computed == stored hash
  SignatureType signature = SignatureType::kNone;  // the signature that verified, if a key
  ImageVersion version;
};

// imgtool-verify semantics (§7): the first hash TLV found must match the computed hash.
// With a key, one signature TLV of the key's type must verify (a KEYHASH/PUBKEY preceding
// it must match the key, otherwise that signature is skipped, as MCUboot does).
// Errors: parse errors as Parse(); kNotFound "no hash TLV"; kCrypto "hash mismatch",
// "hash type SHA512 not allowed for ECDSA P-256 key", "no signature verifies with the
// given key (...)", "signature TLV ... invalid".
Result<VerifyResult> Verify(const ParsedImage& image, const PublicKey* key = nullptr);
Result<VerifyResult> Verify(ConstByteSpan data, const PublicKey* key = nullptr);

// ---------------------------------------------------------------------------------------
// Protected TLV payloads

struct Dependency {
  uint8_t image_index = 0;
  ImageVersion min_version;
  friend bool operator==(const Dependency&, const Dependency&) = default;
};
// Decodes a 12-byte DEPENDENCY value. Errors: kCorrupt on a wrong length.
Result<Dependency> DecodeDependency(ConstByteSpan value);
// Security counter from a SEC_CNT TLV, if present. Errors: kCorrupt on a wrong length.
Result<std::optional<uint32_t>> SecurityCounter(const ParsedImage& image);

}  // namespace smpkit::mcuboot
