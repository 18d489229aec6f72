#include "smpkit/mcuboot/image_create.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace smpkit::mcuboot {

namespace {

constexpr std::array<uint8_t, 16> kClassicMagic = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                                   0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
constexpr std::array<uint8_t, 14> kMagicV2Tail = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                                  0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};

uint32_t AlignUp(uint32_t v, uint32_t a) { return (v + a - 1) / a * a; }

bool ValidAlign(uint32_t a) { return a == 1 || a == 2 || a == 4 || a == 8 || a == 16 || a == 32; }

void AppendTlv(std::vector<uint8_t>& out, uint16_t type, ConstByteSpan value) {
  out.push_back(static_cast<uint8_t>(type));
  out.push_back(static_cast<uint8_t>(type >> 8));
  out.push_back(static_cast<uint8_t>(value.size()));
  out.push_back(static_cast<uint8_t>(value.size() >> 8));
  out.insert(out.end(), value.begin(), value.end());
}

// Wraps entries into a block with its info header; an empty block is not written (§3).
std::vector<uint8_t> Block(uint16_t magic, const std::vector<uint8_t>& entries) {
  std::vector<uint8_t> out;
  if (entries.empty()) return out;
  size_t total = entries.size() + 4;
  out.reserve(total);
  out.push_back(static_cast<uint8_t>(magic));
  out.push_back(static_cast<uint8_t>(magic >> 8));
  out.push_back(static_cast<uint8_t>(total));
  out.push_back(static_cast<uint8_t>(total >> 8));
  for (uint8_t b : entries) out.push_back(b);
  return out;
}

}  // namespace

uint32_t AutoSecurityCounter(const ImageVersion& v) {
  return (uint32_t{v.major} << 24) + (uint32_t{v.minor} << 16) + v.revision;
}

Result<uint32_t> ImgtoolTrailerSize(uint32_t align, uint32_t max_align, uint32_t max_sectors,
                                    bool overwrite_only) {
  if (!ValidAlign(align)) {
    return Error::Format(Errc::kInvalidArgument, "invalid alignment %u (1,2,4,8,16,32)", align);
  }
  if (max_align < 8 || max_align > 32 || (max_align & (max_align - 1)) != 0) {
    return Error::Format(Errc::kInvalidArgument, "invalid max alignment %u (8,16,32)", max_align);
  }
  uint32_t magic_area = AlignUp(16, max_align);
  if (overwrite_only) return 2 * max_align + magic_area;
  uint64_t size = uint64_t{max_sectors} * 3 * align + 4 * max_align + magic_area;
  if (size > 0xFFFFFFFF) return Error(Errc::kInvalidArgument, "trailer size overflows");
  return static_cast<uint32_t>(size);
}

std::array<uint8_t, 16> TrailerMagicFor(uint32_t max_align) {
  if (max_align == 8) return kClassicMagic;
  std::array<uint8_t, 16> m{};
  StoreLe16(m.data(), static_cast<uint16_t>(max_align));
  std::copy(kMagicV2Tail.begin(), kMagicV2Tail.end(), m.begin() + 2);
  return m;
}

Result<std::vector<Dependency>> ParseDependencies(std::string_view text) {
  std::vector<Dependency> deps;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto bad = [&](const char* why) {
    return Error::Format(Errc::kInvalidArgument, "bad dependency list \"%.*s\": %s",
                         static_cast<int>(text.size()), text.data(), why);
  };
  skip_ws();
  while (i < text.size()) {
    if (text[i] != '(') return bad("expected '('");
    size_t close = text.find(')', i);
    if (close == std::string_view::npos) return bad("missing ')'");
    std::string_view inner = text.substr(i + 1, close - i - 1);
    size_t comma = inner.find(',');
    if (comma == std::string_view::npos) return bad("expected (image,version)");
    auto trim = [](std::string_view s) {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
      return s;
    };
    std::string_view idx = trim(inner.substr(0, comma));
    std::string_view ver = trim(inner.substr(comma + 1));
    if (idx.empty() || idx.size() > 3 ||
        !std::all_of(idx.begin(), idx.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("image index must be a number");
    }
    unsigned index = static_cast<unsigned>(std::stoul(std::string(idx)));
    if (index > 255) return bad("image index above 255");
    SMPKIT_ASSIGN_OR_RETURN(ImageVersion v, ImageVersion::Parse(ver));
    deps.push_back({static_cast<uint8_t>(index), v});
    i = close + 1;
    skip_ws();
    if (i < text.size() && text[i] == ',') {
      ++i;
      skip_ws();
    }
  }
  if (deps.empty()) return bad("empty");
  return deps;
}

Result<std::vector<uint8_t>> CreateImage(ConstByteSpan payload, const CreateOptions& o) {
  if (o.header_size < kImageHeaderSize) {
    return Error::Format(Errc::kInvalidArgument, "header size %u is smaller than 32",
                         o.header_size);
  }
  if (o.load_addr != 0 && o.rom_fixed) {
    return Error(Errc::kInvalidArgument, "cannot set both load address and ROM-fixed address");
  }
  uint32_t max_align = o.max_align.value_or(std::max<uint32_t>(8, o.align));
  SMPKIT_ASSIGN_OR_RETURN(uint32_t trailer_size,
                          ImgtoolTrailerSize(o.align, max_align, o.max_sectors, o.overwrite_only));
  bool pad = o.pad || o.confirm;
  if (pad && o.slot_size == 0) {
    return Error(Errc::kInvalidArgument, "padding to the trailer needs a slot size");
  }

  // Header room (§4 "Header padding").
  std::vector<uint8_t> img;
  if (o.pad_header) {
    img.assign(o.header_size, o.erased_val);
    img.insert(img.end(), payload.begin(), payload.end());
  } else {
    if (payload.size() < o.header_size ||
        !std::all_of(payload.begin(), payload.begin() + o.header_size,
                     [](uint8_t b) { return b == 0; })) {
      return Error::Format(Errc::kInvalidArgument,
                           "header padding not requested and the input does not start with %u "
                           "zero bytes (use --pad-header)",
                           o.header_size);
    }
    img.assign(payload.begin(), payload.end());
  }
  if (img.size() - o.header_size > 0xFFFFFFFFu) {
    return Error(Errc::kInvalidArgument, "image body larger than 4 GiB");
  }

  // Protected TLVs in imgtool's order: SEC_CNT, DEPENDENCY..., custom.
  std::vector<uint8_t> prot_entries;
  if (o.security_counter) {
    uint8_t v[4];
    StoreLe32(v, *o.security_counter);
    AppendTlv(prot_entries, kTlvSecCnt, v);
  }
  for (const Dependency& d : o.dependencies) {
    uint8_t v[12] = {};
    v[0] = d.image_index;
    v[4] = d.min_version.major;
    v[5] = d.min_version.minor;
    StoreLe16(v + 6, d.min_version.revision);
    StoreLe32(v + 8, d.min_version.build);
    AppendTlv(prot_entries, kTlvDependency, v);
  }
  for (const auto& [type, value] : o.custom_tlvs) {
    if (value.size() > 0xFFFF) return Error(Errc::kInvalidArgument, "custom TLV too long");
    AppendTlv(prot_entries, type, value);
  }
  std::vector<uint8_t> prot = Block(kTlvProtInfoMagic, prot_entries);
  if (prot.size() > 0xFFFF) {
    return Error::Format(Errc::kInvalidArgument, "protected TLV area of %zu bytes too large",
                         prot.size());
  }

  ImageHeader h;
  h.load_addr = o.rom_fixed ? *o.rom_fixed : o.load_addr;
  h.hdr_size = o.header_size;
  h.protect_tlv_size = static_cast<uint16_t>(prot.size());
  h.img_size = static_cast<uint32_t>(img.size() - o.header_size);
  h.flags = 0;
  if (o.load_addr != 0) h.flags |= kFlagRamLoad;
  if (o.rom_fixed) h.flags |= kFlagRomFixed;
  if (o.non_bootable) h.flags |= kFlagNonBootable;
  h.version = o.version;
  h.Encode(std::span<uint8_t, kImageHeaderSize>(img.data(), kImageHeaderSize));
  img.insert(img.end(), prot.begin(), prot.end());

  SMPKIT_ASSIGN_OR_RETURN(Digest digest, Hash(o.hash, img));
  std::vector<uint8_t> entries;
  AppendTlv(entries, HashTlvType(o.hash), digest.view());
  if (o.key != nullptr) {
    SMPKIT_ASSIGN_OR_RETURN(PublicKey pub, o.key->Public());
    if (o.public_key_full) {
      SMPKIT_ASSIGN_OR_RETURN(std::vector<uint8_t> kb, pub.KeyBytes());
      AppendTlv(entries, kTlvPubKey, kb);
    } else {
      SMPKIT_ASSIGN_OR_RETURN(Digest kh, pub.KeyHash(o.hash));
      AppendTlv(entries, kTlvKeyHash, kh.view());
    }
    SMPKIT_ASSIGN_OR_RETURN(std::vector<uint8_t> sig, o.key->SignDigest(digest));
    AppendTlv(entries, SignatureTlvType(o.key->type()), sig);
  }
  std::vector<uint8_t> tlvs = Block(kTlvInfoMagic, entries);
  img.insert(img.end(), tlvs.begin(), tlvs.end());

  if (o.slot_size != 0 && uint64_t{img.size()} + trailer_size > o.slot_size) {
    return Error::Format(Errc::kNoSpace, "image size 0x%zx + trailer 0x%x exceeds slot size 0x%x",
                         img.size(), trailer_size, o.slot_size);
  }
  if (pad) {
    img.resize(o.slot_size, o.erased_val);
    std::array<uint8_t, 16> magic = TrailerMagicFor(max_align);
    std::copy(magic.begin(), magic.end(), img.end() - 16);
    if (o.confirm && !o.overwrite_only) {
      uint32_t magic_area = (max_align + 15) / max_align * max_align;
      img[img.size() - magic_area - max_align] = 0x01;  // image_ok
    }
  }
  return img;
}

}  // namespace smpkit::mcuboot
