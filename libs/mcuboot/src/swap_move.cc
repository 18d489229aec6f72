// Swap using move (§11.4): the primary's sectors are first moved up by one, then for each
// sector n: secondary[n] -> primary[n], primary[n+1] -> secondary[n]. Every step is
// recorded in the primary trailer's status table (write-once records), so a reset at any
// point resumes where it stopped: a step whose record is missing is simply redone, which is
// safe because each step's source is never the sector it writes.
//
// Status table: records [0, N) are the move phase (one per sector, state 1), records
// N + 2*j + {0,1} the two halves of swap step j (states 1 and 2).
#include "smpkit/mcuboot/boot.h"

namespace smpkit::mcuboot {

Status Bootloader::CopySector(const flash::Partition& dst, uint32_t dst_sector,
                              const flash::Partition& src, uint32_t src_sector) {
  const uint32_t sector = dst.page_size();
  SMPKIT_TRY(dst.ErasePage(dst_sector * sector));
  return dst.CopyFrom(src, src_sector * sector, dst_sector * sector, sector, copy_buf_);
}

Status Bootloader::StartSwapMove(uint32_t image, SwapType type, uint32_t swap_size) {
  const auto& p = images_[image].primary;
  const auto& s = images_[image].secondary;
  const auto& l = layouts_[image];
  SMPKIT_ASSIGN_OR_RETURN(TrailerState st, ReadTrailer(s, l));
  if (type == SwapType::kRevert) {
    // Mark the revert in the secondary trailer (row I) before the primary trailer, which
    // alone says "revert", is erased: a reset in between must still revert.
    const bool marked = st.magic == MagicState::kGood && st.copy_done == FlagState::kSet &&
                        st.image_ok == FlagState::kUnset;
    if (!marked) {
      SMPKIT_TRY(EraseTrailer(s, l));
      SMPKIT_TRY(WriteCopyDone(s, l));
      SMPKIT_TRY(WriteMagic(s, l));
    }
  }
  // The magic goes last: until then the secondary's request still decides the swap type.
  SMPKIT_TRY(EraseTrailer(p, l));
  SMPKIT_TRY(WriteSwapInfo(p, l, type, static_cast<uint8_t>(image)));
  if (type != SwapType::kRevert && st.image_ok == FlagState::kSet) {
    SMPKIT_TRY(WriteImageOk(p, l));
  }
  SMPKIT_TRY(WriteSwapSize(p, l, swap_size));
  return WriteMagic(p, l);
}

Status Bootloader::SwapMove(uint32_t image, SwapType type, uint32_t swap_size, bool resume) {
  const auto& p = images_[image].primary;
  const auto& s = images_[image].secondary;
  const auto& l = layouts_[image];
  const uint32_t sector = p.page_size();
  if (swap_size == 0 || swap_size > MaxImageSize(image)) {
    return Error::Format(Errc::kCorrupt, "swap size 0x%x outside 1..0x%x (trailer corrupt?)",
                         swap_size, MaxImageSize(image));
  }
  const uint32_t count = (swap_size + sector - 1) / sector;
  if (!resume) SMPKIT_TRY(StartSwapMove(image, type, swap_size));

  for (uint32_t k = 0; k < count; ++k) {
    SMPKIT_ASSIGN_OR_RETURN(uint8_t done, ReadStatusRecord(p, l, k));
    if (done != 0) continue;
    // From here on the primary trailer records the swap; the request can go.
    if (k == 0) SMPKIT_TRY(EraseTrailer(s, l));
    const uint32_t idx = count - k;
    SMPKIT_TRY(CopySector(p, idx, p, idx - 1));
    SMPKIT_TRY(WriteStatusRecord(p, l, k, 1));
  }
  for (uint32_t j = 0; j < count; ++j) {
    const uint32_t rec = l.max_sectors + 2 * j;
    SMPKIT_ASSIGN_OR_RETURN(uint8_t first, ReadStatusRecord(p, l, rec));
    if (first == 0) {
      SMPKIT_TRY(CopySector(p, j, s, j));
      SMPKIT_TRY(WriteStatusRecord(p, l, rec, 1));
    }
    SMPKIT_ASSIGN_OR_RETURN(uint8_t second, ReadStatusRecord(p, l, rec + 1));
    if (second == 0) {
      SMPKIT_TRY(CopySector(s, j, p, j + 1));
      SMPKIT_TRY(WriteStatusRecord(p, l, rec + 1, 2));
    }
  }
  SMPKIT_ASSIGN_OR_RETURN(TrailerState pt, ReadTrailer(p, l));
  if ((type == SwapType::kPerm || type == SwapType::kRevert) &&
      pt.image_ok != FlagState::kSet) {
    SMPKIT_TRY(WriteImageOk(p, l));
  }
  if (pt.copy_done != FlagState::kSet) SMPKIT_TRY(WriteCopyDone(p, l));
  return Ok();
}

}  // namespace smpkit::mcuboot
