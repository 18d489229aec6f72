// Overwrite-only upgrade (§11.4, OVERWRITE_ONLY_FAST flavour): copy the secondary image's
// sectors over the primary, erase what is left of the old image, give the primary a fresh
// trailer magic, then cancel the request (secondary trailer) and drop its header. A reset
// anywhere before the secondary trailer is erased simply repeats the whole copy.
#include <algorithm>

#include "smpkit/mcuboot/boot.h"

namespace smpkit::mcuboot {

Status Bootloader::Overwrite(uint32_t image, const SlotImage& incoming) {
  const auto& p = images_[image].primary;
  const auto& s = images_[image].secondary;
  const auto& l = layouts_[image];
  const uint32_t sector = p.page_size();
  const uint32_t max = MaxImageSize(image);
  const uint32_t old_size = std::min(ImageTotalSize(p), max);
  const uint32_t new_sectors = (incoming.size + sector - 1) / sector;
  const uint32_t sectors = std::max(new_sectors, (old_size + sector - 1) / sector);
  for (uint32_t k = 0; k < sectors; ++k) {
    if (k < new_sectors) {
      SMPKIT_TRY(CopySector(p, k, s, k));
    } else {
      SMPKIT_TRY(p.ErasePage(k * sector));
    }
  }
  SMPKIT_TRY(EraseTrailer(p, l));
  SMPKIT_TRY(WriteMagic(p, l));
  SMPKIT_TRY(EraseTrailer(s, l));
  return s.ErasePage(0);
}

}  // namespace smpkit::mcuboot
