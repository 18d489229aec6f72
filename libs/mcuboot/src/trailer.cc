#include "smpkit/mcuboot/trailer.h"

#include <array>
#include <cstring>

namespace smpkit::mcuboot {
namespace {

constexpr uint8_t kMagicV1[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                  0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
constexpr uint8_t kMagicV2Tail[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                      0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};
constexpr uint32_t kMaxWrite = 32;

bool IsPow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }
uint32_t RoundUp(uint32_t v, uint32_t a) { return (v + a - 1) / a * a; }

FlagState DecodeFlag(uint8_t b, uint8_t erased) {
  if (b == erased) return FlagState::kUnset;
  return b == 0x01 ? FlagState::kSet : FlagState::kBad;
}

// Writes `value` followed by erased bytes as one block of round_up(len, W) bytes.
Status WriteBlock(const flash::Partition& slot, const TrailerLayout& l, uint32_t off,
                  const uint8_t* value, uint32_t len) {
  std::array<uint8_t, kMaxWrite> block{};
  const uint32_t n = RoundUp(len, l.write_size);
  std::memset(block.data(), slot.erased_value(), n);
  std::memcpy(block.data(), value, len);
  return slot.Write(off, ConstByteSpan(block.data(), n));
}

}  // namespace

std::string_view SwapTypeName(SwapType type) {
  switch (type) {
    case SwapType::kNone: return "none";
    case SwapType::kTest: return "test";
    case SwapType::kPerm: return "perm";
    case SwapType::kRevert: return "revert";
    case SwapType::kFail: return "fail";
    case SwapType::kPanic: return "panic";
  }
  return "unknown";
}

void TrailerMagic(uint32_t align, uint8_t out[16]) {
  if (align == 8) {
    std::memcpy(out, kMagicV1, 16);
    return;
  }
  StoreLe16(out, static_cast<uint16_t>(align));
  std::memcpy(out + 2, kMagicV2Tail, 14);
}

Result<TrailerLayout> TrailerLayout::Compute(uint32_t slot_size, uint32_t write_size,
                                             const TrailerConfig& c) {
  if (!IsPow2(c.max_align) || c.max_align < 8 || c.max_align > 32) {
    return Error::Format(Errc::kInvalidArgument, "trailer max_align %u is not 8, 16 or 32",
                         c.max_align);
  }
  if (!IsPow2(write_size) || write_size > c.max_align) {
    return Error::Format(Errc::kInvalidArgument,
                         "flash write size %u is not a power of two <= max_align %u", write_size,
                         c.max_align);
  }
  if (c.status_per_sector != 0 && c.max_sectors == 0) {
    return Error(Errc::kInvalidArgument, "trailer max_sectors 0 with a swap-status table");
  }
  TrailerLayout l;
  l.slot_size = slot_size;
  l.write_size = write_size;
  l.align = c.max_align;
  l.max_sectors = c.max_sectors;
  const uint32_t a = c.max_align;
  const uint32_t ma = RoundUp(16, a);
  const uint64_t table = uint64_t{c.max_sectors} * c.status_per_sector * write_size;
  const uint64_t need = table + 4ull * a + ma;
  if (need >= slot_size || slot_size % a != 0) {
    return Error::Format(Errc::kInvalidArgument,
                         "slot size 0x%x cannot hold a 0x%llx-byte trailer aligned to %u",
                         slot_size, static_cast<unsigned long long>(need), a);
  }
  l.magic_block = slot_size - ma;
  l.image_ok = l.magic_block - a;
  l.copy_done = l.image_ok - a;
  l.swap_info = l.copy_done - a;
  l.swap_size = l.swap_info - a;
  if (c.status_per_sector == 0) {
    l.status = l.swap_info;
    l.status_count = 0;
  } else {
    l.status = l.swap_size - static_cast<uint32_t>(table);
    l.status_count = c.max_sectors * c.status_per_sector;
  }
  return l;
}

Result<TrailerState> ReadTrailer(const flash::Partition& slot, const TrailerLayout& l) {
  const uint8_t erased = slot.erased_value();
  TrailerState s;
  std::array<uint8_t, 16> magic{};
  SMPKIT_TRY(slot.Read(l.slot_size - 16, magic));
  uint8_t want[16];
  TrailerMagic(l.align, want);
  bool all_erased = true;
  for (uint8_t b : magic) all_erased = all_erased && b == erased;
  s.magic = all_erased ? MagicState::kUnset
                       : (std::memcmp(magic.data(), want, 16) == 0 ? MagicState::kGood
                                                                   : MagicState::kBad);
  std::array<uint8_t, 1> b{};
  SMPKIT_TRY(slot.Read(l.image_ok, b));
  s.image_ok = DecodeFlag(b[0], erased);
  SMPKIT_TRY(slot.Read(l.copy_done, b));
  s.copy_done = DecodeFlag(b[0], erased);
  SMPKIT_TRY(slot.Read(l.swap_info, b));
  const uint8_t type = b[0] & 0x0F;
  if (b[0] != erased && type >= 1 && type <= 4) {
    s.swap_type = static_cast<SwapType>(type);
    s.image_index = static_cast<uint8_t>(b[0] >> 4);
  }
  if (l.status_count != 0) {
    std::array<uint8_t, 4> sz{};
    SMPKIT_TRY(slot.Read(l.swap_size, sz));
    s.swap_size = LoadLe32(sz.data());
  }
  return s;
}

Status WriteMagic(const flash::Partition& slot, const TrailerLayout& l) {
  std::array<uint8_t, kMaxWrite> block{};
  const uint32_t ma = l.slot_size - l.magic_block;
  std::memset(block.data(), slot.erased_value(), ma);
  TrailerMagic(l.align, block.data() + ma - 16);
  return slot.Write(l.magic_block, ConstByteSpan(block.data(), ma));
}

Status WriteImageOk(const flash::Partition& slot, const TrailerLayout& l) {
  const uint8_t v = 0x01;
  return WriteBlock(slot, l, l.image_ok, &v, 1);
}

Status WriteCopyDone(const flash::Partition& slot, const TrailerLayout& l) {
  const uint8_t v = 0x01;
  return WriteBlock(slot, l, l.copy_done, &v, 1);
}

Status WriteSwapInfo(const flash::Partition& slot, const TrailerLayout& l, SwapType type,
                     uint8_t image_index) {
  const auto v = static_cast<uint8_t>((image_index << 4) | (static_cast<uint8_t>(type) & 0x0F));
  return WriteBlock(slot, l, l.swap_info, &v, 1);
}

Status WriteSwapSize(const flash::Partition& slot, const TrailerLayout& l, uint32_t size) {
  if (l.status_count == 0) {
    return Error(Errc::kNotSupported, "this trailer layout has no swap_size field");
  }
  uint8_t v[4];
  StoreLe32(v, size);
  return WriteBlock(slot, l, l.swap_size, v, 4);
}

Result<uint8_t> ReadStatusRecord(const flash::Partition& slot, const TrailerLayout& l,
                                 uint32_t index) {
  if (index >= l.status_count) {
    return Error::Format(Errc::kInvalidArgument, "swap status record %u beyond table of %u",
                         index, l.status_count);
  }
  std::array<uint8_t, 1> b{};
  SMPKIT_TRY(slot.Read(l.status + index * l.write_size, b));
  return b[0] == slot.erased_value() ? uint8_t{0} : b[0];
}

Status WriteStatusRecord(const flash::Partition& slot, const TrailerLayout& l, uint32_t index,
                         uint8_t state) {
  if (index >= l.status_count) {
    return Error::Format(Errc::kInvalidArgument, "swap status record %u beyond table of %u",
                         index, l.status_count);
  }
  return WriteBlock(slot, l, l.status + index * l.write_size, &state, 1);
}

uint32_t FirstTrailerPage(const flash::Partition& slot, const TrailerLayout& l) {
  return l.start() / slot.page_size();
}

Status EraseTrailer(const flash::Partition& slot, const TrailerLayout& l) {
  const uint32_t first = FirstTrailerPage(slot, l) * slot.page_size();
  return slot.Erase(first, slot.size() - first);
}

}  // namespace smpkit::mcuboot
