// Reading and validating the image held in a slot (boot-time checks of §2, §7, §11.3).
#include <algorithm>
#include <array>

#include "smpkit/mcuboot/boot.h"

namespace smpkit::mcuboot {
namespace {

// Reads header + TLV info and the whole image into `buffer`; returns the parsed view.
Result<ParsedImage> LoadImage(const flash::Partition& slot, uint32_t max_size, ByteSpan buffer,
                              bool strict, ImageFault* fault) {
  *fault = ImageFault::kNoImage;
  std::array<uint8_t, kImageHeaderSize> raw{};
  SMPKIT_TRY(slot.Read(0, raw));
  const uint32_t magic = LoadLe32(raw.data());
  if (magic != kImageMagic) {
    return Error::Format(Errc::kNotFound, "no image in slot (area %u): header magic 0x%08x",
                         slot.id(), magic);
  }
  *fault = ImageFault::kBadHeader;
  SMPKIT_ASSIGN_OR_RETURN(ImageHeader h, ImageHeader::Decode(raw));
  const uint64_t hashed = h.HashedSize();
  *fault = ImageFault::kTooLarge;
  if (hashed + kTlvInfoSize > max_size) {
    return Error::Format(Errc::kNoSpace,
                         "image of at least 0x%llx bytes exceeds the slot's maximum 0x%x",
                         static_cast<unsigned long long>(hashed + kTlvInfoSize), max_size);
  }
  std::array<uint8_t, kTlvInfoSize> info{};
  SMPKIT_TRY(slot.Read(static_cast<uint32_t>(hashed), info));
  const uint16_t info_magic = LoadLe16(info.data());
  const uint16_t tlv_tot = LoadLe16(info.data() + 2);
  *fault = ImageFault::kTruncated;
  if (info_magic != kTlvInfoMagic) {
    return Error::Format(Errc::kTruncated,
                         "TLV info magic 0x%04x at 0x%llx, expected 0x%04x (image incomplete?)",
                         info_magic, static_cast<unsigned long long>(hashed), kTlvInfoMagic);
  }
  const uint64_t total = hashed + tlv_tot;
  if (total > max_size) {
    *fault = ImageFault::kTooLarge;
    return Error::Format(Errc::kNoSpace, "image of 0x%llx bytes exceeds the slot's maximum 0x%x",
                         static_cast<unsigned long long>(total), max_size);
  }
  if (total > buffer.size()) {
    *fault = ImageFault::kTooLarge;
    return Error::Format(Errc::kNoSpace, "image of 0x%llx bytes exceeds the 0x%zx-byte buffer",
                         static_cast<unsigned long long>(total), buffer.size());
  }
  ByteSpan img = buffer.first(static_cast<size_t>(total));
  SMPKIT_TRY(slot.Read(0, img));
  auto parsed = Parse(img, ParseOptions{.strict = strict});
  if (!parsed.ok()) {
    *fault = parsed.error().code() == Errc::kTruncated ? ImageFault::kTruncated
                                                       : ImageFault::kBadHeader;
    return parsed.error();
  }
  *fault = ImageFault::kNone;
  return parsed;
}

SlotImage Describe(const ParsedImage& p) {
  SlotImage s;
  s.header = p.header;
  s.size = static_cast<uint32_t>(p.size());
  if (auto t = p.tlvs.Find(kTlvSha256); t && t->value.size() == 32) {
    std::copy(t->value.begin(), t->value.end(), s.hash.begin());
    s.has_hash = true;
  }
  return s;
}

bool IsSignatureTlv(uint16_t type) {
  return type == kTlvRsa2048 || type == kTlvEcdsa224 || type == kTlvEcdsaSig ||
         type == kTlvRsa3072 || type == kTlvEd25519;
}

}  // namespace

std::string_view ImageFaultName(ImageFault fault) {
  switch (fault) {
    case ImageFault::kNone: return "none";
    case ImageFault::kNoImage: return "no image";
    case ImageFault::kBadHeader: return "bad header";
    case ImageFault::kTooLarge: return "too large";
    case ImageFault::kTruncated: return "truncated";
    case ImageFault::kBadHash: return "bad hash";
    case ImageFault::kUnsigned: return "unsigned";
    case ImageFault::kUnknownKey: return "unknown key";
    case ImageFault::kBadSignature: return "bad signature";
    case ImageFault::kNonBootable: return "non-bootable";
    case ImageFault::kDowngrade: return "downgrade";
    case ImageFault::kWrongSlot: return "wrong slot";
  }
  return "unknown";
}

Result<SlotImage> ReadSlotImage(const flash::Partition& slot, ByteSpan buffer) {
  ImageFault fault;
  const auto max = static_cast<uint32_t>(std::min<size_t>(slot.size(), buffer.size()));
  SMPKIT_ASSIGN_OR_RETURN(ParsedImage p, LoadImage(slot, max, buffer, /*strict=*/false, &fault));
  return Describe(p);
}

Result<SlotImage> ValidateSlotImage(const flash::Partition& slot, uint32_t max_size,
                                    std::span<const PublicKey> keys, ByteSpan buffer,
                                    ImageFault* fault_out) {
  ImageFault scratch;
  ImageFault& fault = fault_out ? *fault_out : scratch;
  SMPKIT_ASSIGN_OR_RETURN(ParsedImage p, LoadImage(slot, max_size, buffer, true, &fault));
  if (!p.header.bootable()) {
    fault = ImageFault::kNonBootable;
    return Error(Errc::kAccessDenied, "image is flagged NON_BOOTABLE");
  }
  auto hashed = Verify(p, nullptr);
  if (!hashed.ok()) {
    fault = ImageFault::kBadHash;
    return hashed.error();
  }
  if (!keys.empty()) {
    bool has_signature = false;
    for (const Tlv& t : p.tlvs) has_signature = has_signature || IsSignatureTlv(t.type);
    if (!has_signature) {
      fault = ImageFault::kUnsigned;
      return Error(Errc::kCrypto, "image carries no signature but signing keys are configured");
    }
    Error last;
    for (const PublicKey& key : keys) {
      auto v = Verify(p, &key);
      if (v.ok()) {
        fault = ImageFault::kNone;
        return Describe(p);
      }
      last = v.error();
    }
    fault = ImageFault::kBadSignature;
    if (auto kh = p.tlvs.Find(kTlvKeyHash)) {
      bool known = false;
      for (const PublicKey& key : keys) {
        auto h = key.KeyHash(HashAlg::kSha256);
        known = known || (h.ok() && std::ranges::equal(h->view(), kh->value));
      }
      if (!known) {
        fault = ImageFault::kUnknownKey;
        return Error(Errc::kCrypto, "image is signed with a key that is not configured "
                                    "(KEYHASH matches no key)");
      }
    }
    return last;
  }
  fault = ImageFault::kNone;
  return Describe(p);
}

}  // namespace smpkit::mcuboot
