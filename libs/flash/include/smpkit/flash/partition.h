#pragma once
// Flash areas: offset+size views of a Flash device (MCUboot's `flash_area`), and helpers that
// lay out the usual MCUboot partitions (bootloader, slot pairs, scratch, storage).

#include <array>
#include <cstdint>

#include "smpkit/flash/flash.h"

namespace smpkit::flash {

// MCUboot's default flash area ids.
inline constexpr uint8_t kAreaBootloader = 0;
inline constexpr uint8_t kAreaImage0Primary = 1;
inline constexpr uint8_t kAreaImage0Secondary = 2;
inline constexpr uint8_t kAreaScratch = 3;
inline constexpr uint8_t kAreaStorage = 4;
inline constexpr uint8_t kAreaImage1Primary = 5;
inline constexpr uint8_t kAreaImage1Secondary = 6;

// A window [offset, offset+size) of a device; all offsets below are relative to it. Cheap to
// copy; the device must outlive it. A default-constructed Partition is "absent": every
// operation fails with kNotFound.
class Partition {
 public:
  Partition() = default;
  // Errors: kInvalidArgument (window outside the device, or not on page boundaries).
  static Result<Partition> Make(Flash& flash, uint32_t offset, uint32_t size, uint8_t id = 0);

  bool present() const { return flash_ != nullptr; }
  Flash* flash() const { return flash_; }
  uint8_t id() const { return id_; }
  uint32_t offset() const { return offset_; }
  uint32_t size() const { return size_; }
  uint32_t page_size() const { return flash_ ? flash_->page_size() : 0; }
  uint32_t page_count() const { return flash_ ? size_ / flash_->page_size() : 0; }
  uint32_t write_align() const { return flash_ ? flash_->write_align() : 0; }
  uint8_t erased_value() const { return flash_ ? flash_->erased_value() : 0xFF; }

  // As the Flash functions, with the range checked against this partition first.
  // Errors: kNotFound (absent), kInvalidArgument (range), plus those of Flash.
  Status Read(uint32_t offset, ByteSpan out) const;
  Status Write(uint32_t offset, ConstByteSpan data) const;
  // Writes `data` at any offset and length: the write units only partly covered are read,
  // patched and written whole (their other bytes must be erased or be left as they are, as
  // NOR flash allows), in one write when the whole range spans at most kMaxPatchBytes.
  // Errors: as Read and Write; kNotSupported for a write unit above kMaxPatchBytes.
  static constexpr uint32_t kMaxPatchBytes = 64;
  Status WriteUnaligned(uint32_t offset, ConstByteSpan data) const;
  Status ErasePage(uint32_t offset) const;
  Status Erase(uint32_t offset, uint32_t length) const;
  Status EraseAll() const { return Erase(0, size_); }
  Result<bool> IsErased(uint32_t offset, uint32_t length) const;
  // Copies [src_offset, +length) of `src` to `dst_offset` of this partition through a bounce
  // buffer, writing in chunks of at most buf.size() (a multiple of the write alignment).
  Status CopyFrom(const Partition& src, uint32_t src_offset, uint32_t dst_offset,
                  uint32_t length, ByteSpan buf) const;

 private:
  Partition(Flash* f, uint32_t offset, uint32_t size, uint8_t id)
      : flash_(f), offset_(offset), size_(size), id_(id) {}
  Status Check(const char* op, uint32_t offset, uint64_t length) const;

  Flash* flash_ = nullptr;
  uint32_t offset_ = 0;
  uint32_t size_ = 0;
  uint8_t id_ = 0;
};

inline constexpr size_t kMaxImages = 2;

struct SlotPair {
  Partition primary;
  Partition secondary;
};

// Consecutive partitions from the start of the device (sizes in bytes, page multiples; 0 =
// absent): bootloader, image 0 primary, image 0 secondary, [image 1 primary, secondary],
// [scratch], [storage].
struct LayoutSpec {
  uint32_t bootloader_size = 0;
  uint32_t slot_size = 0;
  uint32_t images = 1;  // 1 or 2 slot pairs
  uint32_t scratch_size = 0;
  uint32_t storage_size = 0;
};

struct Layout {
  Partition bootloader;
  std::array<SlotPair, kMaxImages> images{};
  uint32_t image_count = 0;
  Partition scratch;
  Partition storage;
  uint32_t end = 0;  // first byte after the last partition
};

// Errors: kInvalidArgument (sizes not page multiples, zero slot size, more than kMaxImages
// images), kNoSpace (the partitions do not fit the device).
Result<Layout> MakeLayout(Flash& flash, const LayoutSpec& spec);

}  // namespace smpkit::flash
