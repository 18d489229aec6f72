#include "smpkit/flash/flash.h"

#include <cstring>

#include <algorithm>
#include <array>

namespace smpkit::flash {
namespace {

constexpr uint64_t kDisarmed = UINT64_MAX;

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

Status ValidateGeometry(const Geometry& g) {
  if (g.page_size == 0) return Error(Errc::kInvalidArgument, "flash page size is 0");
  if (!IsPowerOfTwo(g.write_align)) {
    return Error::Format(Errc::kInvalidArgument, "flash write alignment %u is not a power of two",
                         g.write_align);
  }
  if (g.page_size % g.write_align != 0) {
    return Error::Format(Errc::kInvalidArgument,
                         "flash page size %u is not a multiple of the write alignment %u",
                         g.page_size, g.write_align);
  }
  if (g.size == 0) return Error(Errc::kInvalidArgument, "flash size is 0");
  if (g.size % g.page_size != 0) {
    return Error::Format(Errc::kInvalidArgument,
                         "flash size 0x%x is not a multiple of the page size 0x%x", g.size,
                         g.page_size);
  }
  return Ok();
}

Flash::Flash(const Geometry& g) : geometry_(g), geometry_status_(ValidateGeometry(g)) {
  if (geometry_status_.ok()) {
    page_buf_.resize(g.page_size);
    erased_from_.assign(g.size / g.page_size, g.page_size);
  }
}

void Flash::MarkAllErased() { std::fill(erased_from_.begin(), erased_from_.end(), 0u); }

bool Flash::TakeErasedRange(uint32_t offset, uint64_t n) {
  if (n == 0 || erased_from_.empty()) return false;
  const uint32_t ps = geometry_.page_size;
  const uint64_t end = offset + n;
  for (uint64_t at = offset; at < end; at = (at / ps + 1) * ps) {
    if (at % ps < erased_from_[at / ps]) return false;
  }
  for (uint64_t at = offset; at < end; at = (at / ps + 1) * ps) {
    const uint64_t page_end = (at / ps + 1) * ps;
    erased_from_[at / ps] = static_cast<uint32_t>(std::min(end, page_end) - (at / ps) * ps);
  }
  return true;
}

void Flash::ForgetErased(uint32_t offset, uint64_t n) {
  if (erased_from_.empty()) return;
  const uint32_t ps = geometry_.page_size;
  for (uint64_t at = offset; at < offset + n; at = (at / ps + 1) * ps) erased_from_[at / ps] = ps;
}

Status Flash::CheckRange(const char* op, uint32_t offset, uint64_t length) const {
  if (!geometry_status_.ok()) return geometry_status_;
  if (uint64_t{offset} + length > geometry_.size) {
    return Error::Format(Errc::kInvalidArgument,
                         "flash %s of %llu bytes at 0x%x exceeds the device size 0x%x", op,
                         static_cast<unsigned long long>(length), offset, geometry_.size);
  }
  return Ok();
}

Error Flash::PowerCutError(const char* op, uint32_t offset) const {
  return Error::Format(Errc::kIo, "power cut during flash %s at 0x%x", op, offset);
}

void Flash::CutPower() {
  powered_ = false;
  if (power_cut_handler_) power_cut_handler_();
}

Status Flash::Begin(bool mutation) {
  ++stats_.operations;
  if (!powered_) return Error(Errc::kIo, "flash is powered off");
  if (fail_at_op_ != kDisarmed) {
    if (fail_at_op_ == 0) {
      fail_at_op_ = kDisarmed;
      return Error::Format(Errc::kIo, "injected failure of flash operation #%llu",
                           static_cast<unsigned long long>(stats_.operations - 1));
    }
    --fail_at_op_;
  }
  interrupt_this_ = false;
  if (mutation) {
    if (stop_at_mutation_ != kDisarmed) {
      if (stop_at_mutation_ == 0) {
        // The power goes before this operation starts: the medium holds exactly the
        // operations before it (e.g. a page erased and nothing written to it yet).
        stop_at_mutation_ = kDisarmed;
        CutPower();
        return Error(Errc::kIo, "power cut before a flash write or erase");
      }
      --stop_at_mutation_;
    }
    ++mutations_;
    if (cut_at_mutation_ != kDisarmed) {
      if (cut_at_mutation_ == 0) {
        cut_at_mutation_ = kDisarmed;
        interrupt_this_ = true;
      } else {
        --cut_at_mutation_;
      }
    }
  }
  return Ok();
}

Status Flash::Read(uint32_t offset, ByteSpan out) {
  SMPKIT_TRY(CheckRange("read", offset, out.size()));
  SMPKIT_TRY(Begin(false));
  SMPKIT_TRY(DoRead(offset, out));
  ++stats_.reads;
  stats_.bytes_read += out.size();
  elapsed_ += timing_.read_per_byte * static_cast<int64_t>(out.size());
  return Ok();
}

namespace {
// OR of the bits that `want` would move back to the erased state (NOR flash cannot), over
// the whole multiple-of-8 prefix of n bytes; the tail is left to the caller's byte loop.
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize")))
#endif
uint64_t ProgrammedBitsCleared(const uint8_t* cur, const uint8_t* want, size_t n,
                               uint64_t erased_word) {
  uint64_t bad = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t c, w;
    std::memcpy(&c, cur + i, 8);
    std::memcpy(&w, want + i, 8);
    bad |= (c ^ erased_word) & ~(w ^ erased_word);
  }
  if (n % 8 != 0) bad |= 1;  // let the byte loop decide the tail
  return bad;
}
}  // namespace

Status Flash::Write(uint32_t offset, ConstByteSpan data) {
  SMPKIT_TRY(CheckRange("write", offset, data.size()));
  const uint32_t align = geometry_.write_align;
  if (offset % align != 0 || data.size() % align != 0) {
    return Error::Format(Errc::kInvalidArgument,
                         "flash write of %zu bytes at 0x%x is not aligned to %u bytes",
                         data.size(), offset, align);
  }
  SMPKIT_TRY(Begin(true));
  const bool interrupted = interrupt_this_;
  interrupt_this_ = false;
  // NOR rule: a write may only move bits away from the erased state.
  const uint8_t erased = geometry_.erased_value;
  std::array<uint8_t, 256> cur;  // only used when the backend is not mapped
  const uint64_t erased_word = erased * 0x0101010101010101ull;
  const ConstByteSpan mapped = Mapped();
  // Writing above the pages' watermarks (sequential writes after an erase): known erased,
  // the NOR rule holds without reading the flash back.
  const bool known_erased = !interrupted && bytes_budget_ == kDisarmed &&
                            TakeErasedRange(offset, data.size());
  for (size_t done = known_erased ? data.size() : 0; done < data.size(); done += cur.size()) {
    const size_t n = std::min(cur.size(), data.size() - done);
    const uint32_t at = offset + static_cast<uint32_t>(done);
    const uint8_t* cur_bytes = cur.data();
    if (!mapped.empty()) {
      cur_bytes = mapped.data() + at;
    } else if (Status st = DoRead(at, ByteSpan(cur.data(), n)); !st.ok()) {
      if (interrupted) CutPower();
      return st;
    }
    // Branch-free and vectorized; the byte loop below only runs to name the offending byte.
    const uint64_t bad = ProgrammedBitsCleared(cur_bytes, data.data() + done, n, erased_word);
    if (bad == 0) continue;
    for (size_t i = 0; i < n; ++i) {
      const uint8_t want = data[done + i];
      // Bits that differ from the erased state may only be added, never removed.
      const uint8_t cur_prog = static_cast<uint8_t>(cur_bytes[i] ^ erased);
      const uint8_t want_prog = static_cast<uint8_t>(want ^ erased);
      if ((cur_prog & want_prog) != cur_prog) {
        if (interrupted) CutPower();
        return Error::Format(Errc::kBadState,
                             "flash write at 0x%zx would un-program bits (flash 0x%02x, data "
                             "0x%02x); erase first",
                             at + i, cur_bytes[i], want);
      }
    }
  }
  uint64_t n = data.size();
  bool cut = false;
  if (interrupted) {
    n = n / 2 / align * align;
    cut = true;
  }
  if (bytes_budget_ != kDisarmed) {
    if (n > bytes_budget_) {
      n = bytes_budget_ / align * align;
      cut = true;
    }
    bytes_budget_ = cut ? kDisarmed : bytes_budget_ - n;
  }
  if (!known_erased) ForgetErased(offset, data.size());  // partly programmed now
  if (n > 0) {
    if (Status st = DoStore(offset, data.first(n)); !st.ok()) {
      ForgetErased(offset, data.size());
      return st;
    }
  }
  stats_.bytes_written += n;
  const uint64_t words = (n + timing_.word_size - 1) / std::max<uint32_t>(timing_.word_size, 1);
  elapsed_ += timing_.write_per_word * static_cast<int64_t>(words);
  if (cut) {
    CutPower();
    return PowerCutError("write", offset);
  }
  ++stats_.writes;
  return Ok();
}

Status Flash::StoreGarbagePage(uint32_t page_offset) {
  // An interrupted erase leaves some bits moved toward the erased state and others not.
  ByteSpan page(page_buf_);
  SMPKIT_TRY(DoRead(page_offset, page));
  uint32_t x = (page_offset / geometry_.page_size + 1) * 0x9E3779B9u ^
               static_cast<uint32_t>(mutations_ * 0x85EBCA6Bu);
  if (x == 0) x = 1;
  for (auto& b : page) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    const auto bits = static_cast<uint8_t>(x);
    b = geometry_.erased_value == 0xFF ? static_cast<uint8_t>(b | bits)
                                       : static_cast<uint8_t>(b & ~bits);
  }
  ForgetErased(page_offset, geometry_.page_size);
  return DoStore(page_offset, page);
}

Status Flash::ErasePage(uint32_t offset) {
  SMPKIT_TRY(CheckRange("erase", offset, geometry_.page_size));
  if (offset % geometry_.page_size != 0) {
    return Error::Format(Errc::kInvalidArgument,
                         "flash erase at 0x%x is not at a page boundary (page size 0x%x)", offset,
                         geometry_.page_size);
  }
  SMPKIT_TRY(Begin(true));
  bool cut = interrupt_this_;
  interrupt_this_ = false;
  if (erase_budget_ != kDisarmed) {
    if (erase_budget_ == 0) {
      cut = true;
      erase_budget_ = kDisarmed;
    } else {
      --erase_budget_;
    }
  }
  if (cut) {
    SMPKIT_TRY(StoreGarbagePage(offset));
    elapsed_ += timing_.erase_per_page / 2;
    CutPower();
    return PowerCutError("page erase", offset);
  }
  std::fill(page_buf_.begin(), page_buf_.end(), geometry_.erased_value);
  ForgetErased(offset, geometry_.page_size);
  SMPKIT_TRY(DoStore(offset, page_buf_));
  erased_from_[offset / geometry_.page_size] = 0;
  ++stats_.page_erases;
  elapsed_ += timing_.erase_per_page;
  return Ok();
}

Status Flash::Erase(uint32_t offset, uint32_t length) {
  SMPKIT_TRY(CheckRange("erase", offset, length));
  if (offset % geometry_.page_size != 0 || length % geometry_.page_size != 0) {
    return Error::Format(Errc::kInvalidArgument,
                         "flash erase of 0x%x bytes at 0x%x is not page-aligned (page 0x%x)",
                         length, offset, geometry_.page_size);
  }
  for (uint32_t off = offset; off < offset + length; off += geometry_.page_size) {
    SMPKIT_TRY(ErasePage(off));
  }
  return Ok();
}

Result<bool> Flash::IsErased(uint32_t offset, uint32_t length) {
  SMPKIT_TRY(CheckRange("read", offset, length));
  const uint32_t ps = geometry_.page_size;
  const uint64_t erased_word = geometry_.erased_value * 0x0101010101010101ull;
  const ConstByteSpan mapped = Mapped();
  for (uint32_t done = 0; done < length;) {
    const uint32_t at = offset + done;
    const uint32_t page_end = (at / ps + 1) * ps;
    const uint32_t n = std::min(length - done, page_end - at);
    done += n;
    // Nothing written to this part of the page since its last erase: no need to look.
    if (!erased_from_.empty() && at % ps >= erased_from_[at / ps]) {
      SMPKIT_TRY(Begin(false));  // still an operation (fault injection, power state)
      continue;
    }
    const uint8_t* bytes = nullptr;
    if (!mapped.empty()) {
      SMPKIT_TRY(Begin(false));
      bytes = mapped.data() + at;
    } else {
      // One read per page into the page buffer (allocated once), not per 256 bytes.
      SMPKIT_TRY(Read(at, ByteSpan(page_buf_.data(), n)));
      bytes = page_buf_.data();
    }
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, bytes + i, 8);
      if (w != erased_word) return false;
    }
    for (; i < n; ++i) {
      if (bytes[i] != geometry_.erased_value) return false;
    }
  }
  return true;
}

void Flash::FailOperation(uint64_t n) { fail_at_op_ = n; }
void Flash::CutPowerAtMutation(uint64_t n) { cut_at_mutation_ = n; }
void Flash::CutPowerBeforeMutation(uint64_t n) { stop_at_mutation_ = n; }
void Flash::CutPowerAfterBytesWritten(uint64_t n) { bytes_budget_ = n; }
void Flash::CutPowerAfterPagesErased(uint64_t n) { erase_budget_ = n; }

void Flash::ClearFaults() {
  fail_at_op_ = kDisarmed;
  cut_at_mutation_ = kDisarmed;
  stop_at_mutation_ = kDisarmed;
  bytes_budget_ = kDisarmed;
  erase_budget_ = kDisarmed;
  interrupt_this_ = false;
}

void Flash::PowerOn() {
  ClearFaults();
  powered_ = true;
}

RamFlash::RamFlash(const Geometry& g) : Flash(g) {
  if (ValidateGeometry(g).ok()) {
    mem_.assign(g.size, g.erased_value);
    MarkAllErased();
  }
}

Status RamFlash::DoRead(uint32_t offset, ByteSpan out) {
  std::copy_n(mem_.begin() + offset, out.size(), out.begin());
  return Ok();
}

Status RamFlash::DoStore(uint32_t offset, ConstByteSpan data) {
  std::copy(data.begin(), data.end(), mem_.begin() + offset);
  return Ok();
}

}  // namespace smpkit::flash
