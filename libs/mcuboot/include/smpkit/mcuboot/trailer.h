#pragma once
// MCUboot image trailer (shared/spec/mcuboot.md §9): magic, image_ok, copy_done, swap_info,
// swap_size and the swap-status table at the end of a slot, read and written through a
// flash::Partition with the flash's write size. Allocation-free.

#include <cstdint>
#include <string_view>

#include "smpkit/base/result.h"
#include "smpkit/flash/partition.h"

namespace smpkit::mcuboot {

// Numeric values as MCUboot's BOOT_SWAP_TYPE_*.
enum class SwapType : uint8_t {
  kNone = 1,
  kTest = 2,
  kPerm = 3,
  kRevert = 4,
  kFail = 5,
  kPanic = 0xFF,
};
std::string_view SwapTypeName(SwapType type);  // "none", "test", "perm", "revert", ...

enum class MagicState : uint8_t { kUnset, kGood, kBad };
enum class FlagState : uint8_t { kUnset, kSet, kBad };

struct TrailerConfig {
  uint32_t max_align = 8;      // BOOT_MAX_ALIGN (A): power of two, 8..32
  // BOOT_MAX_IMG_SECTORS (N). The Bootloader reads 0 as "the slot's sector count"
  // (CONFIG_BOOT_MAX_IMG_SECTORS_AUTO); TrailerLayout::Compute needs it resolved.
  uint32_t max_sectors = 128;
  // Status records per sector (s): 3 for swap-move/scratch; 0 = no status table
  // (overwrite-only, direct-XIP: the trailer starts at swap_info).
  uint32_t status_per_sector = 3;
};

// Field offsets within a slot of `slot_size` bytes (§9.2).
struct TrailerLayout {
  uint32_t slot_size = 0;
  uint32_t write_size = 0;  // W: the flash write alignment
  uint32_t align = 0;       // A
  uint32_t max_sectors = 0;
  uint32_t magic_block = 0;  // start of the round_up(16, A) block ending the slot
  uint32_t image_ok = 0;
  uint32_t copy_done = 0;
  uint32_t swap_info = 0;
  uint32_t swap_size = 0;
  uint32_t status = 0;        // first status record (== swap_info when there is no table)
  uint32_t status_count = 0;  // records in the table (N * s)

  // First byte of the trailer; an image must end at or before it.
  uint32_t start() const { return status; }
  uint32_t size() const { return slot_size - status; }

  // Errors: kInvalidArgument (A not a power of two in 8..32, W > A or not a power of two,
  // slot too small for the trailer).
  static Result<TrailerLayout> Compute(uint32_t slot_size, uint32_t write_size,
                                       const TrailerConfig& config);
  static Result<TrailerLayout> For(const flash::Partition& slot, const TrailerConfig& config) {
    return Compute(slot.size(), slot.write_align(), config);
  }
};

struct TrailerState {
  MagicState magic = MagicState::kUnset;
  FlagState image_ok = FlagState::kUnset;
  FlagState copy_done = FlagState::kUnset;
  SwapType swap_type = SwapType::kNone;  // swap_info low nibble; erased or > 4 reads as NONE
  uint8_t image_index = 0;               // swap_info high nibble
  uint32_t swap_size = 0xFFFFFFFF;       // erased = 0xFFFFFFFF

  friend bool operator==(const TrailerState&, const TrailerState&) = default;
};

// The magic as stored in the last 16 bytes for alignment A (§9.3).
void TrailerMagic(uint32_t align, uint8_t out[16]);

// Errors: those of flash reads.
Result<TrailerState> ReadTrailer(const flash::Partition& slot, const TrailerLayout& layout);

// Each writes one W-sized block (value bytes then erased bytes). Errors: flash errors,
// including kBadState when the field already holds a different value.
Status WriteMagic(const flash::Partition& slot, const TrailerLayout& layout);
Status WriteImageOk(const flash::Partition& slot, const TrailerLayout& layout);
Status WriteCopyDone(const flash::Partition& slot, const TrailerLayout& layout);
Status WriteSwapInfo(const flash::Partition& slot, const TrailerLayout& layout, SwapType type,
                     uint8_t image_index);
Status WriteSwapSize(const flash::Partition& slot, const TrailerLayout& layout, uint32_t size);

// Swap-status record `index` (0-based) holds a state byte 1..3, or 0 if erased.
// Errors: kInvalidArgument (index beyond the table), flash errors.
Result<uint8_t> ReadStatusRecord(const flash::Partition& slot, const TrailerLayout& layout,
                                 uint32_t index);
Status WriteStatusRecord(const flash::Partition& slot, const TrailerLayout& layout,
                         uint32_t index, uint8_t state);

// Index of the first page holding trailer bytes, and erasing pages from it to the slot end.
uint32_t FirstTrailerPage(const flash::Partition& slot, const TrailerLayout& layout);
Status EraseTrailer(const flash::Partition& slot, const TrailerLayout& layout);

}  // namespace smpkit::mcuboot
