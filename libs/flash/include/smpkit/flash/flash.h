#pragma once
// NOR flash model: page erase, aligned writes that may only clear bits, a cost model in
// virtual time, and fault / power-cut injection. Backends (RAM, file) only store bytes; every
// rule of the medium lives in the Flash base class so that all backends behave alike.

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::flash {

using Duration = std::chrono::nanoseconds;

struct Geometry {
  uint32_t size = 0;         // total bytes; a multiple of page_size
  uint32_t page_size = 4096;  // erase unit
  uint32_t write_align = 4;   // minimum write unit; offsets and lengths must be multiples
  uint8_t erased_value = 0xFF;
};

// Errors: kInvalidArgument naming the bad field (zero sizes, size not a multiple of the page,
// page not a multiple of the write unit, write unit not a power of two).
Status ValidateGeometry(const Geometry& g);

// Virtual time charged per operation. No wall clock is involved anywhere.
struct Timing {
  Duration erase_per_page{0};
  Duration write_per_word{0};
  uint32_t word_size = 4;  // a write of n bytes costs ceil(n / word_size) words
  Duration read_per_byte{0};

  // nRF52 flash controller: page erase 87.5 ms per 4 KiB page, write 42 us per 4-byte word.
  static Timing Nrf52() {
    return {std::chrono::microseconds(87500), std::chrono::microseconds(42), 4, Duration(0)};
  }
};

struct Stats {
  uint64_t operations = 0;  // every Read/Write/ErasePage attempted (including failed ones)
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t page_erases = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
};

class Flash {
 public:
  virtual ~Flash() = default;
  Flash(const Flash&) = delete;
  Flash& operator=(const Flash&) = delete;

  const Geometry& geometry() const { return geometry_; }
  uint32_t size() const { return geometry_.size; }
  uint32_t page_size() const { return geometry_.page_size; }
  uint32_t page_count() const { return geometry_.size / geometry_.page_size; }
  uint32_t write_align() const { return geometry_.write_align; }
  uint8_t erased_value() const { return geometry_.erased_value; }

  // Errors: kInvalidArgument (range outside the device), kIo (injected failure, power off,
  // backend failure).
  Status Read(uint32_t offset, ByteSpan out);
  // Programs bytes. Offset and length must be multiples of write_align. Like NOR flash, a
  // write may only clear bits: a bit that is 0 on flash and 1 in `data` is an error and nothing
  // is written. Errors: kInvalidArgument (range, alignment), kBadState (0->1 bit), kIo.
  Status Write(uint32_t offset, ConstByteSpan data);
  // Erases one page (all bytes become erased_value); `offset` must be the start of a page.
  // Errors: kInvalidArgument (range, not page-aligned), kIo.
  Status ErasePage(uint32_t offset);
  // Erases the pages of [offset, offset+length); both page-aligned. One operation per page.
  Status Erase(uint32_t offset, uint32_t length);
  // True if every byte of the range reads as the erased value. Errors: as Read.
  Result<bool> IsErased(uint32_t offset, uint32_t length);

  // --- cost model ---
  void set_timing(const Timing& t) { timing_ = t; }
  const Timing& timing() const { return timing_; }
  // Virtual time the device has been busy since construction or ResetElapsed().
  Duration elapsed() const { return elapsed_; }
  void ResetElapsed() { elapsed_ = Duration(0); }
  const Stats& stats() const { return stats_; }
  void ResetStats() { stats_ = {}; }
  // Number of mutating operations (writes and page erases) attempted so far. Power-cut sweeps
  // use it to count the operations of a procedure, then cut at each index.
  uint64_t mutation_count() const { return mutations_; }

  // --- fault injection (all counters are relative to "now") ---
  // The n-th operation from now (0 = the next one; reads count too) fails with kIo without
  // touching the medium. The device stays powered.
  void FailOperation(uint64_t n);
  // The n-th mutating operation from now is interrupted by a power cut: a write stores only
  // its first half (whole write units), a page erase leaves the page holding a deterministic
  // garbage pattern. That operation and every later one fail until PowerOn().
  void CutPowerAtMutation(uint64_t n);
  // The power is cut just before the n-th mutating operation from now: that operation and
  // all later ones fail without touching the medium (a process killed between two writes).
  void CutPowerBeforeMutation(uint64_t n);
  // Power is cut once n more bytes have been written: the write crossing the limit stores
  // only the bytes below it (whole write units) and fails.
  void CutPowerAfterBytesWritten(uint64_t n);
  // Power is cut after n more complete page erases: the next erase is interrupted and leaves
  // the page holding a deterministic garbage pattern.
  void CutPowerAfterPagesErased(uint64_t n);
  // Called once when an injected power cut (any of the above) takes effect, after the
  // interrupted operation stored what it got to store. A process that models a real power
  // cut (`smpkit device --fault-after-writes N`) exits here without cleaning up.
  void set_power_cut_handler(std::function<void()> handler) {
    power_cut_handler_ = std::move(handler);
  }
  void PowerOff() { powered_ = false; }
  // Powers the device on again and disarms every pending fault.
  void PowerOn();
  void ClearFaults();
  bool powered() const { return powered_; }

 protected:
  explicit Flash(const Geometry& g);
  // For backends that start fully erased (RAM, a newly created file).
  void MarkAllErased();
  // Backends: plain byte storage; the range has been checked.
  virtual Status DoRead(uint32_t offset, ByteSpan out) = 0;
  virtual Status DoStore(uint32_t offset, ConstByteSpan data) = 0;
  // Backends held in memory expose it, so a write checks the NOR rule in place (no copy).
  virtual ConstByteSpan Mapped() const { return {}; }

 private:
  Status Begin(bool mutation);
  Status CheckRange(const char* op, uint32_t offset, uint64_t length) const;
  Status StoreGarbagePage(uint32_t page_offset);
  Error PowerCutError(const char* op, uint32_t offset) const;
  // An injected power cut takes effect: power off, then the handler.
  void CutPower();

  Geometry geometry_;
  Status geometry_status_;
  Timing timing_{};
  Duration elapsed_{0};
  Stats stats_{};
  uint64_t mutations_ = 0;
  bool powered_ = true;
  // Armed faults; UINT64_MAX = disarmed.
  uint64_t fail_at_op_ = UINT64_MAX;
  uint64_t cut_at_mutation_ = UINT64_MAX;
  uint64_t stop_at_mutation_ = UINT64_MAX;
  uint64_t bytes_budget_ = UINT64_MAX;
  uint64_t erase_budget_ = UINT64_MAX;
  bool interrupt_this_ = false;  // set by Begin() when the current mutation is the cut one
  std::function<void()> power_cut_handler_;
  std::vector<uint8_t> page_buf_;  // one page, allocated once
  // Per page: bytes [watermark, page_size) are known erased (nothing written there since the
  // last erase). A write that starts at or above the watermark needs no NOR check. Pages of
  // unknown content hold page_size.
  std::vector<uint32_t> erased_from_;
  // Whether [offset, offset + n) lies above every touched page's watermark; moves them.
  bool TakeErasedRange(uint32_t offset, uint64_t n);
  void ForgetErased(uint32_t offset, uint64_t n);
};

// A device held in RAM. Its content lives as long as the object.
class RamFlash : public Flash {
 public:
  // Starts fully erased. With an invalid geometry (see ValidateGeometry) every operation
  // fails with kInvalidArgument naming the problem.
  explicit RamFlash(const Geometry& g);
  ConstByteSpan contents() const { return mem_; }

 protected:
  Status DoRead(uint32_t offset, ByteSpan out) override;
  Status DoStore(uint32_t offset, ConstByteSpan data) override;
  ConstByteSpan Mapped() const override { return mem_; }

 private:
  std::vector<uint8_t> mem_;
};

}  // namespace smpkit::flash
