#pragma once
// An MCUboot-like bootloader model over flash::Partition slots (shared/spec/mcuboot.md
// §9-§16): the swap-type table, swap-using-move with a resumable status table,
// overwrite-only, direct-XIP (with or without revert), boot-time validation against the
// configured keys, downgrade prevention, and the runtime API an application uses
// (request an upgrade, confirm, read the image state as the SMP image group reports it).
//
// One Bootloader object models one device. Boot() is what the bootloader does at reset; the
// runtime functions are what the application does while running. Heap use: one buffer of
// the slot size, allocated by the constructor; Boot() and the runtime API allocate nothing.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "smpkit/base/result.h"
#include "smpkit/flash/partition.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/mcuboot/keys.h"
#include "smpkit/mcuboot/trailer.h"

namespace smpkit::mcuboot {

enum class BootMode : uint8_t {
  kSwapMove,       // nRF Desktop's default: swap with one spare sector, test/confirm/revert
  kOverwriteOnly,  // copy secondary over primary; no revert
  kDirectXip,      // run from either slot; highest valid version wins
};
std::string_view BootModeName(BootMode mode);

struct BootConfig {
  BootMode mode = BootMode::kSwapMove;
  TrailerConfig trailer;  // status_per_sector is forced to 3 (swap-move) or 0 (others)
  // Keys an image must be signed with (any one of them). Empty: a valid hash TLV suffices.
  std::vector<PublicKey> keys;
  bool validate_primary = true;       // MCUBOOT_VALIDATE_PRIMARY_SLOT
  bool downgrade_prevention = false;  // MCUBOOT_DOWNGRADE_PREVENTION (version based)
  bool direct_xip_revert = true;      // MCUBOOT_DIRECT_XIP_REVERT
};

// Why an image was not accepted.
enum class ImageFault : uint8_t {
  kNone,
  kNoImage,       // header magic is not an image magic (erased, garbage, v1)
  kBadHeader,     // header fields inconsistent (hdr_size, sizes overflow)
  kTooLarge,      // image does not fit the slot's usable area
  kTruncated,     // TLV area missing or cut short
  kBadHash,       // hash TLV absent or different from the computed hash
  kUnsigned,      // keys configured but the image carries no signature
  kUnknownKey,    // signed (KEYHASH) with a key that is not configured
  kBadSignature,  // the signature does not verify with the configured key
  kNonBootable,   // NON_BOOTABLE flag set
  kDowngrade,     // older than the running image while downgrades are prevented
  kWrongSlot,     // direct-XIP: ROM_FIXED load address of another slot
};
std::string_view ImageFaultName(ImageFault fault);

struct SlotImage {
  ImageHeader header;
  uint32_t size = 0;  // header + body + all TLVs
  std::array<uint8_t, 32> hash{};  // the SHA256 TLV value
  bool has_hash = false;
};

// What happened to one image at boot.
struct ImageBootReport {
  SwapType swap = SwapType::kNone;  // the swap/copy performed (NONE if none)
  bool resumed = false;             // an interrupted swap was completed
  uint8_t active_slot = 0;          // slot that runs (0 primary, 1 secondary in direct-XIP)
  ImageVersion version;             // version of the image that runs
  std::array<uint8_t, 32> hash{};   // its SHA256 TLV
  // A rejected candidate (the secondary, or in direct-XIP the slot tried first): which slot,
  // why, and the detailed error. The running image is unaffected.
  ImageFault rejected = ImageFault::kNone;
  uint8_t rejected_slot = 0;
  Error rejection;
};

struct BootReport {
  std::array<ImageBootReport, flash::kMaxImages> images{};
  uint32_t image_count = 0;
};

// One row of "image state read" (§15).
struct ImageSlotState {
  uint8_t image = 0;
  uint8_t slot = 0;
  ImageVersion version;
  std::array<uint8_t, 32> hash{};
  bool has_hash = false;
  bool bootable = false;
  bool pending = false;
  bool confirmed = false;
  bool active = false;
  bool permanent = false;
};

struct ImageStateList {
  std::array<ImageSlotState, 2 * flash::kMaxImages> slots{};
  uint32_t count = 0;
  std::span<const ImageSlotState> view() const { return {slots.data(), count}; }
};

// Reads and fully validates the image at the start of `slot` (parse, size against
// `max_size`, hash, and a signature by one of `keys` if any). `buffer` must hold max_size
// bytes. Errors: the Error explains; *fault (if given) classifies it.
Result<SlotImage> ValidateSlotImage(const flash::Partition& slot, uint32_t max_size,
                                    std::span<const PublicKey> keys, ByteSpan buffer,
                                    ImageFault* fault = nullptr);
// Reads the header and TLVs only (no hash check), as the SMP image group does.
// Errors: kNotFound (no image magic), kCorrupt/kTruncated (bad sizes or TLV area).
Result<SlotImage> ReadSlotImage(const flash::Partition& slot, ByteSpan buffer);

// The §11.2 table (row I included: it is how this model records a revert in progress).
SwapType DecideSwapType(const TrailerState& primary, const TrailerState& secondary);

class Bootloader {
 public:
  // `images` gives one slot pair per image (1..kMaxImages). Slots of a pair must have the
  // same size and page size. Invalid setups make every call fail with the reason.
  Bootloader(std::span<const flash::SlotPair> images, BootConfig config);

  const BootConfig& config() const { return config_; }
  uint32_t image_count() const { return image_count_; }
  // Largest image (header+body+TLVs) the bootloader accepts in a slot of image `image`.
  uint32_t MaxImageSize(uint32_t image = 0) const;
  const TrailerLayout& trailer_layout(uint32_t image = 0) const { return layouts_[image]; }

  // Reset: resume an interrupted swap, decide, validate, swap/copy/select, validate what
  // will run. Errors: flash errors (e.g. the power was cut again: call Boot() again after
  // powering on), kNotFound "no bootable image ..." when nothing valid can run (the device
  // is bricked), kBadState for an invalid setup.
  Result<BootReport> Boot();

  // Slot the application of `image` runs from (after the last successful Boot()).
  uint8_t active_slot(uint32_t image = 0) const { return active_slot_[image]; }

  // --- runtime API (application side) ---
  // The raw swap type the next boot would decide (§11.2, no validation).
  Result<SwapType> PendingSwapType(uint32_t image = 0) const;
  // boot_set_next(slot, active, confirm) for the configured mode (§10).
  // Errors: kInvalidArgument (image/slot), kCorrupt (trailer magic BAD), flash errors.
  Status SetNext(uint32_t image, uint8_t slot, bool active, bool confirm);
  // boot_set_pending_multi: mark the non-running slot for a test (permanent=false) or a
  // permanent upgrade. Errors: as SetNext.
  Status RequestUpgrade(uint32_t image = 0, bool permanent = false);
  // boot_set_confirmed_multi: confirm the running image. Errors: as SetNext.
  Status ConfirmRunning(uint32_t image = 0);
  // "image state read" (§15) for every image and slot that holds a readable image.
  Result<ImageStateList> ReadImageState();
  // "image state write" (§15): hash == nullopt means the running image (only with confirm).
  // Errors: kInvalidArgument "invalid hash" (no hash and confirm=false), kNotFound (no slot
  // with that hash), kAccessDenied (test of the active slot, confirming a non-running
  // image's slot), kBusy ("already pending"), flash errors.
  Status WriteImageState(std::optional<ConstByteSpan> hash, bool confirm);
  // Whether erasing / uploading to that slot must be refused (§15, last bullet).
  Result<bool> SlotInUse(uint32_t image, uint8_t slot);

 private:
  const flash::Partition& Slot(uint32_t image, uint8_t slot) const {
    return slot == 0 ? images_[image].primary : images_[image].secondary;
  }
  Status CheckImage(uint32_t image) const;
  Result<ImageBootReport> BootSwap(uint32_t image);
  Result<ImageBootReport> BootDirectXip(uint32_t image);
  // Validates slot `slot`; on failure erases it and records the fault in `report`.
  Result<bool> ValidateOrErase(uint32_t image, uint8_t slot, ImageBootReport* report,
                               SlotImage* out);
  // swap_move.cc
  Status SwapMove(uint32_t image, SwapType type, uint32_t swap_size, bool resume);
  Status StartSwapMove(uint32_t image, SwapType type, uint32_t swap_size);
  // swap_overwrite.cc
  Status Overwrite(uint32_t image, const SlotImage& incoming);
  Status CopySector(const flash::Partition& dst, uint32_t dst_sector,
                    const flash::Partition& src, uint32_t src_sector);
  uint32_t ImageTotalSize(const flash::Partition& slot);
  Status FinalizeRunning(uint32_t image, uint8_t slot, ImageBootReport* report);
  // Erases a slot, trailer pages first (so a reset midway leaves no request behind).
  Status EraseSlot(uint32_t image, uint8_t slot);

  BootConfig config_;
  std::array<flash::SlotPair, flash::kMaxImages> images_{};
  std::array<TrailerLayout, flash::kMaxImages> layouts_{};
  std::array<uint8_t, flash::kMaxImages> active_slot_{};
  uint32_t image_count_ = 0;
  Status setup_;
  std::vector<uint8_t> buffer_;     // one slot
  std::array<uint8_t, 256> copy_buf_{};
};

}  // namespace smpkit::mcuboot
