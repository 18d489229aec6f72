#pragma once
// Settings kept in a flash partition, in the manner of Zephyr's settings over FCB: a log of
// name/value records in one of two halves of the partition, the newest record of a name
// winning, a deletion being a record too. When the active half is full, the live records are
// copied to the other half, whose header is written last: a power cut at any flash write
// leaves either the old half or the complete new one active. A record torn by a power cut
// fails its CRC and is ignored (that save did not complete). Allocation-free.
//
// Record: u16 name length, u16 value length (0xFFFF: deleted), name, value, CRC-32 of all
// that (little-endian), padded to the flash's write unit. Half header: "SMST", u32 sequence.

#include <cstdint>
#include <functional>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/flash/partition.h"

namespace smpkit::flash {

class SettingsStore {
 public:
  static constexpr size_t kMaxName = 64;    // bytes, without a terminator
  static constexpr size_t kMaxValue = 256;  // bytes

  SettingsStore() = default;
  // Scans `partition` (two or more pages, an even number; write unit at most 16 bytes).
  // Errors: kInvalidArgument (geometry), flash errors.
  static Result<SettingsStore> Open(const Partition& partition);

  // Stores `value` under `name` (nothing is written when it is already the stored value).
  // Errors: kInvalidArgument (empty or too long name, too long value), kNoSpace (the live
  // settings do not fit a half), flash errors.
  Status Save(std::string_view name, ConstByteSpan value);
  // Records the deletion of `name` (nothing when it is not stored).
  Status Delete(std::string_view name);
  // The stored value of `name` into `out`: its size, or kNotFound. kNoSpace if `out` is short.
  Result<size_t> Read(std::string_view name, ByteSpan out) const;
  // Calls fn(name, value) for each stored setting, the newest value of each name once.
  Status ForEach(const std::function<void(std::string_view, ConstByteSpan)>& fn) const;

  // Bytes of the active half in use, and a half's size.
  uint32_t used() const { return end_; }
  uint32_t half_size() const { return half_; }
  uint32_t sequence() const { return seq_; }

 private:
  struct Record {
    uint32_t pos = 0;   // in the half
    uint32_t size = 0;  // padded
    uint16_t name_len = 0;
    uint16_t val_len = 0;  // kDeleted for a deletion
    bool deleted() const { return val_len == kDeleted; }
  };
  static constexpr uint16_t kDeleted = 0xFFFF;
  static constexpr uint32_t kMagic = 0x54534D53;  // "SMST"

  uint32_t Base(int half) const { return static_cast<uint32_t>(half) * half_; }
  uint32_t Pad(uint32_t n) const { return (n + align_ - 1) / align_ * align_; }
  uint32_t HeaderSize() const { return Pad(8); }
  // Reads the record at `pos` of `half` (its name into `name`, value into `value` if given).
  // false: the end of the log (erased, or a record that does not check out).
  bool ReadRecord(int half, uint32_t pos, Record* r, char* name, uint8_t* value) const;
  // Walks the active half: fn(record, name, value) for each valid record, in log order.
  template <typename Fn>
  Status Walk(Fn&& fn) const;
  // Whether a record later than `after` in the active half has this name.
  bool Superseded(uint32_t after, std::string_view name) const;
  Status Append(std::string_view name, ConstByteSpan value, bool deleted);
  Status Compact();

  Partition part_;
  uint32_t half_ = 0;
  uint32_t align_ = 1;
  int active_ = -1;  // -1: no valid half yet
  uint32_t seq_ = 0;
  uint32_t end_ = 0;
  bool dirty_ = false;  // bytes after end_ are not erased (a torn record)
};

}  // namespace smpkit::flash
