#include "smpkit/mcuboot/image_info.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "smpkit/base/hex.h"
#include "smpkit/mcuboot/image.h"

namespace smpkit::mcuboot {

namespace {

using Json = nlohmann::ordered_json;

constexpr uint8_t kClassicMagic[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                       0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
constexpr uint8_t kMagicV2Tail[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                      0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};

// Trailer fields read as imgtool dumpinfo does: magic = last 16 bytes of the file, field
// alignment from the magic (§9.3), flag bytes raw.
struct DumpTrailer {
  ConstByteSpan magic;
  std::optional<uint32_t> max_align;
  uint8_t image_ok = 0, copy_done = 0, swap_info = 0;
  uint32_t swap_size = 0;
};

std::optional<DumpTrailer> ReadTrailer(const ParsedImage& img, ConstByteSpan file) {
  if (img.after.empty() || file.size() < 16) return std::nullopt;
  DumpTrailer t;
  t.magic = file.last(16);
  if (std::equal(t.magic.begin(), t.magic.end(), kClassicMagic)) {
    t.max_align = 8;
  } else if (std::equal(t.magic.begin() + 2, t.magic.end(), kMagicV2Tail)) {
    t.max_align = LoadLe16(t.magic.data());
  }
  if (!t.max_align) return t;
  uint32_t a = *t.max_align;
  // magic area, then image_ok, copy_done, swap_info, swap_size, each A bytes (§9.2).
  uint64_t magic_area = std::max<uint32_t>(16, a);
  uint64_t need = magic_area + 4ull * a;
  if (a == 0 || need > file.size()) {
    t.max_align.reset();
    return t;
  }
  size_t end = file.size() - static_cast<size_t>(magic_area);
  t.image_ok = file[end - a];
  t.copy_done = file[end - 2 * a];
  t.swap_info = file[end - 3 * a];
  t.swap_size = LoadLe32(&file[end - 4 * a]);
  return t;
}

Json TlvList(const TlvBlock& block) {
  Json list = Json::array();
  for (const Tlv& t : block) {
    list.push_back({{"type", t.type},
                    {"type_name", std::string(TlvTypeName(t.type))},
                    {"len", t.value.size()},
                    {"data", HexEncode(t.value)}});
  }
  return list;
}

Result<ParsedImage> ParseLenient(ConstByteSpan file) {
  ParseOptions opts;
  opts.strict = false;
  return Parse(file, opts);
}

}  // namespace

Result<std::string> ImageInfoJson(ConstByteSpan file, std::string_view filename, int indent) {
  SMPKIT_ASSIGN_OR_RETURN(ParsedImage img, ParseLenient(file));
  const ImageHeader& h = img.header;
  Json j;
  j["filename"] = std::string(filename);
  j["header"] = {{"magic", h.magic},
                 {"load_addr", h.load_addr},
                 {"hdr_size", h.hdr_size},
                 {"protected_tlv_size", h.protect_tlv_size},
                 {"img_size", h.img_size},
                 {"flags", h.flags},
                 {"version", h.version.ToImgtoolString()}};
  Json area;
  area["tlv_hdr_prot"] = Json::object();
  if (img.protected_tlvs.present()) {
    area["tlv_hdr_prot"] = {{"magic", img.protected_tlvs.magic()},
                            {"tlv_tot", img.protected_tlvs.total()}};
  }
  area["tlvs_prot"] = TlvList(img.protected_tlvs);
  area["tlv_hdr"] = {{"magic", img.tlvs.magic()}, {"tlv_tot", img.tlvs.total()}};
  area["tlvs"] = TlvList(img.tlvs);
  j["tlv_area"] = area;
  Json trailer = Json::object();
  if (std::optional<DumpTrailer> t = ReadTrailer(img, file)) {
    trailer["magic"] = HexEncode(t->magic);
    if (t->max_align) {
      trailer["image_ok"] = t->image_ok;
      trailer["copy_done"] = t->copy_done;
      trailer["swap_info"] = t->swap_info;
      trailer["swap_size"] = t->swap_size;
    }
  }
  j["trailer"] = trailer;
  return j.dump(indent);
}

Result<std::string> ImageInfoText(ConstByteSpan file, std::string_view filename) {
  SMPKIT_ASSIGN_OR_RETURN(ParsedImage img, ParseLenient(file));
  const ImageHeader& h = img.header;
  std::string out;
  char line[256];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof(line), fmt, args...);
    out += line;
  };
  add("file:               %.*s (%zu bytes)\n", static_cast<int>(filename.size()), filename.data(),
      file.size());
  add("magic:              0x%08x\n", h.magic);
  add("load_addr:          0x%08x\n", h.load_addr);
  add("hdr_size:           0x%x\n", unsigned{h.hdr_size});
  add("protected_tlv_size: 0x%x\n", unsigned{h.protect_tlv_size});
  add("img_size:           0x%x\n", h.img_size);
  std::string flags;
  static constexpr std::pair<uint32_t, const char*> kFlags[] = {
      {kFlagPic, "PIC"},
      {kFlagEncryptedAes128, "ENCRYPTED_AES128"},
      {kFlagEncryptedAes256, "ENCRYPTED_AES256"},
      {kFlagNonBootable, "NON_BOOTABLE"},
      {kFlagRamLoad, "RAM_LOAD"},
      {kFlagRomFixed, "ROM_FIXED"},
      {kFlagCompressedLzma1, "COMPRESSED_LZMA1"},
      {kFlagCompressedLzma2, "COMPRESSED_LZMA2"},
      {kFlagCompressedArmThumb, "COMPRESSED_ARM_THUMB"}};
  for (const auto& [bit, name] : kFlags) {
    if (h.flags & bit) flags += std::string(flags.empty() ? " (" : " ") + name;
  }
  if (!flags.empty()) flags += ")";
  add("flags:              0x%08x%s\n", h.flags, flags.c_str());
  add("version:            %s (%s)\n", h.version.ToString().c_str(),
      h.version.ToImgtoolString().c_str());
  add("image size:         0x%zx (header + body + TLVs)\n", img.size());
  if (Result<Digest> d = StoredHash(img); d.ok()) {
    add("hash:               %s\n", HexEncode(d->view()).c_str());
  }
  auto dump_block = [&](const char* name, const TlvBlock& b) {
    add("%s (offset 0x%zx, magic 0x%04x, size 0x%x):\n", name, b.offset(), unsigned{b.magic()},
        unsigned{b.total()});
    for (const Tlv& t : b) {
      std::string_view n = TlvTypeName(t.type);
      add("  %-16.*s (0x%02x) len 0x%-4zx %s\n", static_cast<int>(n.size()), n.data(),
          unsigned{t.type}, t.value.size(), HexEncode(t.value).c_str());
    }
  };
  if (img.protected_tlvs.present()) dump_block("protected TLVs", img.protected_tlvs);
  dump_block("TLVs", img.tlvs);
  if (std::optional<DumpTrailer> t = ReadTrailer(img, file)) {
    add("trailer magic:      %s%s\n", HexEncode(t->magic).c_str(),
        t->max_align ? "" : " (not a valid trailer magic)");
    if (t->max_align) {
      add("  max_align %u, image_ok 0x%02x, copy_done 0x%02x, swap_info 0x%02x, "
          "swap_size 0x%x\n",
          *t->max_align, unsigned{t->image_ok}, unsigned{t->copy_done}, unsigned{t->swap_info},
          t->swap_size);
    }
  }
  return out;
}

}  // namespace smpkit::mcuboot
