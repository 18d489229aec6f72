#include "smpkit/mcuboot/boot.h"

#include <algorithm>
#include <cstring>

namespace smpkit::mcuboot {
namespace {

bool IsUpgrade(SwapType t) {
  return t == SwapType::kTest || t == SwapType::kPerm || t == SwapType::kRevert;
}

}  // namespace

std::string_view BootModeName(BootMode mode) {
  switch (mode) {
    case BootMode::kSwapMove: return "swap-move";
    case BootMode::kOverwriteOnly: return "overwrite-only";
    case BootMode::kDirectXip: return "direct-xip";
  }
  return "unknown";
}

SwapType DecideSwapType(const TrailerState& pri, const TrailerState& sec) {
  // Row I: a revert in progress (this model marks the secondary GOOD + copy_done before it
  // erases the primary trailer, so a reset inside that window still reverts).
  if (sec.magic == MagicState::kGood && sec.image_ok == FlagState::kUnset &&
      sec.copy_done == FlagState::kSet) {
    return SwapType::kRevert;
  }
  if (sec.magic == MagicState::kGood && sec.image_ok == FlagState::kUnset) return SwapType::kTest;
  if (sec.magic == MagicState::kGood && sec.image_ok == FlagState::kSet) return SwapType::kPerm;
  if (pri.magic == MagicState::kGood && pri.image_ok == FlagState::kUnset &&
      pri.copy_done == FlagState::kSet) {
    return SwapType::kRevert;
  }
  return SwapType::kNone;
}

Bootloader::Bootloader(std::span<const flash::SlotPair> images, BootConfig config)
    : config_(std::move(config)) {
  config_.trailer.status_per_sector = config_.mode == BootMode::kSwapMove ? 3 : 0;
  if (images.empty() || images.size() > flash::kMaxImages) {
    setup_ = Error::Format(Errc::kBadState, "bootloader needs 1..%zu images, got %zu",
                           flash::kMaxImages, images.size());
    return;
  }
  uint32_t largest = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const auto& p = images[i].primary;
    const auto& s = images[i].secondary;
    if (!p.present() || !s.present()) {
      setup_ = Error::Format(Errc::kBadState, "image %zu lacks a slot", i);
      return;
    }
    if (p.size() != s.size() || p.page_size() != s.page_size() ||
        p.write_align() != s.write_align()) {
      setup_ = Error::Format(Errc::kBadState,
                             "image %zu slots differ (size 0x%x/0x%x, page 0x%x/0x%x)", i,
                             p.size(), s.size(), p.page_size(), s.page_size());
      return;
    }
    // BOOT_MAX_IMG_SECTORS 0: sized from the partition, as MCUboot's
    // CONFIG_BOOT_MAX_IMG_SECTORS_AUTO does (one status entry per sector of the slot).
    TrailerConfig tc = config_.trailer;
    if (tc.max_sectors == 0) tc.max_sectors = p.page_count();
    auto l = TrailerLayout::For(p, tc);
    if (!l.ok()) {
      setup_ = l.error();
      return;
    }
    images_[i] = images[i];
    layouts_[i] = *l;
    largest = std::max(largest, p.size());
    if (config_.mode == BootMode::kSwapMove) {
      const uint32_t pages = FirstTrailerPage(p, *l);
      if (pages < 2 || pages - 1 > l->max_sectors) {
        setup_ = Error::Format(Errc::kBadState,
                               "swap-move needs 2..%u image sectors below the trailer "
                               "(BOOT_MAX_IMG_SECTORS %u + 1), slot of image %zu has %u",
                               l->max_sectors + 1, l->max_sectors, i, pages);
        return;
      }
    }
  }
  image_count_ = static_cast<uint32_t>(images.size());
  buffer_.resize(largest);
}

uint32_t Bootloader::MaxImageSize(uint32_t image) const {
  if (image >= image_count_) return 0;
  const auto& p = images_[image].primary;
  const auto& l = layouts_[image];
  switch (config_.mode) {
    case BootMode::kSwapMove:
      // One spare sector for the move, and no image data in the trailer's sectors.
      return (FirstTrailerPage(p, l) - 1) * p.page_size();
    case BootMode::kOverwriteOnly:
      // The trailer sectors are erased on their own, so no image data may share them.
      return FirstTrailerPage(p, l) * p.page_size();
    case BootMode::kDirectXip:
      return l.swap_info;
  }
  return 0;
}

Status Bootloader::CheckImage(uint32_t image) const {
  SMPKIT_TRY(setup_);
  if (image >= image_count_) {
    return Error::Format(Errc::kInvalidArgument, "no image %u (have %u)", image, image_count_);
  }
  return Ok();
}

uint32_t Bootloader::ImageTotalSize(const flash::Partition& slot) {
  auto img = ReadSlotImage(slot, buffer_);
  return img.ok() ? img->size : 0;
}

Result<bool> Bootloader::ValidateOrErase(uint32_t image, uint8_t slot, ImageBootReport* report,
                                         SlotImage* out) {
  ImageFault fault = ImageFault::kNone;
  auto v = ValidateSlotImage(Slot(image, slot), MaxImageSize(image), config_.keys, buffer_,
                             &fault);
  if (v.ok()) {
    *out = *v;
    return true;
  }
  // Flash failures (power cut) propagate; only a bad image is erased.
  if (v.error().code() == Errc::kIo) return v.error();
  report->rejected = fault;
  report->rejected_slot = slot;
  report->rejection = v.error();
  SMPKIT_TRY(EraseSlot(image, slot));
  return false;
}

Status Bootloader::EraseSlot(uint32_t image, uint8_t slot) {
  const auto& area = Slot(image, slot);
  SMPKIT_TRY(EraseTrailer(area, layouts_[image]));
  return area.Erase(0, FirstTrailerPage(area, layouts_[image]) * area.page_size());
}

Status Bootloader::FinalizeRunning(uint32_t image, uint8_t slot, ImageBootReport* report) {
  Result<SlotImage> img = config_.validate_primary
                              ? ValidateSlotImage(Slot(image, slot), MaxImageSize(image),
                                                  config_.keys, buffer_)
                              : ReadSlotImage(Slot(image, slot), buffer_);
  if (!img.ok()) {
    if (img.error().code() == Errc::kIo) return img.error();
    return Error::Format(Errc::kNotFound, "no bootable image in slot %u of image %u: %.*s", slot,
                         image, static_cast<int>(img.error().message().size()),
                         img.error().message().data());
  }
  report->active_slot = slot;
  report->version = img->header.version;
  report->hash = img->hash;
  active_slot_[image] = slot;
  return Ok();
}

Result<ImageBootReport> Bootloader::BootSwap(uint32_t image) {
  const auto& p = images_[image].primary;
  const auto& s = images_[image].secondary;
  const auto& l = layouts_[image];
  ImageBootReport report;
  SMPKIT_ASSIGN_OR_RETURN(TrailerState pt, ReadTrailer(p, l));
  SMPKIT_ASSIGN_OR_RETURN(TrailerState st, ReadTrailer(s, l));
  if (config_.mode == BootMode::kSwapMove && pt.magic == MagicState::kGood &&
      pt.copy_done == FlagState::kUnset && st.magic != MagicState::kGood &&
      IsUpgrade(pt.swap_type)) {
    // An interrupted swap: finish it with the type recorded in the primary trailer.
    SMPKIT_TRY(SwapMove(image, pt.swap_type, pt.swap_size, /*resume=*/true));
    report.swap = pt.swap_type;
    report.resumed = true;
  } else {
    SwapType t = DecideSwapType(pt, st);
    if (config_.mode == BootMode::kOverwriteOnly && t == SwapType::kRevert) t = SwapType::kNone;
    if (t != SwapType::kNone) {
      SlotImage incoming;
      SMPKIT_ASSIGN_OR_RETURN(bool valid, ValidateOrErase(image, 1, &report, &incoming));
      if (!valid) {
        // A revert whose old image is gone: keep the running image, drop its stuck trailer.
        // Likewise a swap initialised in the primary trailer but never started (MCUboot's
        // FAIL case): without the request it would otherwise look like one to resume.
        const bool stale_init = pt.magic == MagicState::kGood &&
                                pt.copy_done == FlagState::kUnset && IsUpgrade(pt.swap_type);
        if (t == SwapType::kRevert || stale_init) SMPKIT_TRY(EraseTrailer(p, l));
        t = SwapType::kNone;
      } else if (t != SwapType::kRevert && config_.downgrade_prevention) {
        auto running = ReadSlotImage(p, buffer_);
        if (running.ok() &&
            CompareVersions(incoming.header.version, running->header.version) < 0) {
          char a[kMaxVersionStringSize], b[kMaxVersionStringSize];
          report.rejected = ImageFault::kDowngrade;
          report.rejected_slot = 1;
          const auto va = incoming.header.version.Format(a);
          const auto vb = running->header.version.Format(b);
          report.rejection = Error::Format(
              Errc::kAccessDenied, "downgrade from %.*s to %.*s prevented",
              static_cast<int>(vb.size()), vb.data(), static_cast<int>(va.size()), va.data());
          SMPKIT_TRY(EraseSlot(image, 1));
          t = SwapType::kNone;
        }
      }
      if (t != SwapType::kNone) {
        if (config_.mode == BootMode::kSwapMove) {
          const uint32_t running_size = std::min(ImageTotalSize(p), MaxImageSize(image));
          SMPKIT_TRY(SwapMove(image, t, std::max(incoming.size, running_size), false));
        } else {
          SMPKIT_TRY(Overwrite(image, incoming));
        }
        report.swap = t;
      }
    }
  }
  SMPKIT_TRY(FinalizeRunning(image, 0, &report));
  return report;
}

Result<ImageBootReport> Bootloader::BootDirectXip(uint32_t image) {
  ImageBootReport report;
  const auto& l = layouts_[image];
  std::array<bool, 2> available{true, true};
  for (;;) {
    int best = -1;
    ImageVersion best_version;
    for (uint8_t slot = 0; slot < 2; ++slot) {
      if (!available[slot]) continue;
      std::array<uint8_t, kImageHeaderSize> raw{};
      SMPKIT_TRY(Slot(image, slot).Read(0, raw));
      auto h = ImageHeader::Decode(raw);
      if (!h.ok()) continue;
      if (best < 0 || CompareVersions(h->version, best_version) > 0) {
        best = slot;
        best_version = h->version;
      }
    }
    if (best < 0) {
      return Error::Format(Errc::kNotFound, "no bootable image in either slot of image %u",
                           image);
    }
    const auto slot = static_cast<uint8_t>(best);
    const auto& area = Slot(image, slot);
    if (config_.direct_xip_revert) {
      SMPKIT_ASSIGN_OR_RETURN(TrailerState t, ReadTrailer(area, l));
      if (t.magic != MagicState::kGood ||
          (t.copy_done == FlagState::kSet && t.image_ok != FlagState::kSet)) {
        // Not marked for a trial, or tried and never confirmed: revert by erasing it.
        if (t.magic == MagicState::kGood) report.swap = SwapType::kRevert;
        SMPKIT_TRY(EraseSlot(image, slot));
        available[slot] = false;
        continue;
      }
      if (t.copy_done != FlagState::kSet) {
        SMPKIT_TRY(WriteCopyDone(area, l));
        if (t.image_ok != FlagState::kSet) report.swap = SwapType::kTest;
      }
    }
    SlotImage img;
    SMPKIT_ASSIGN_OR_RETURN(bool valid, ValidateOrErase(image, slot, &report, &img));
    if (!valid) {
      available[slot] = false;
      continue;
    }
    if ((img.header.flags & kFlagRomFixed) != 0 && img.header.load_addr != area.offset()) {
      report.rejected = ImageFault::kWrongSlot;
      report.rejected_slot = slot;
      report.rejection = Error::Format(Errc::kInvalidArgument,
                                       "image linked for 0x%x, slot starts at 0x%x",
                                       img.header.load_addr, area.offset());
      available[slot] = false;
      continue;
    }
    report.active_slot = slot;
    report.version = img.header.version;
    report.hash = img.hash;
    active_slot_[image] = slot;
    return report;
  }
}

Result<BootReport> Bootloader::Boot() {
  SMPKIT_TRY(setup_);
  BootReport out;
  out.image_count = image_count_;
  for (uint32_t i = 0; i < image_count_; ++i) {
    SMPKIT_ASSIGN_OR_RETURN(out.images[i], config_.mode == BootMode::kDirectXip
                                               ? BootDirectXip(i)
                                               : BootSwap(i));
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Runtime API

Result<SwapType> Bootloader::PendingSwapType(uint32_t image) const {
  SMPKIT_TRY(CheckImage(image));
  if (config_.mode == BootMode::kDirectXip) return SwapType::kNone;
  SMPKIT_ASSIGN_OR_RETURN(TrailerState pt, ReadTrailer(images_[image].primary, layouts_[image]));
  SMPKIT_ASSIGN_OR_RETURN(TrailerState st,
                          ReadTrailer(images_[image].secondary, layouts_[image]));
  SwapType t = DecideSwapType(pt, st);
  if (config_.mode == BootMode::kOverwriteOnly && t == SwapType::kRevert) t = SwapType::kNone;
  return t;
}

Status Bootloader::SetNext(uint32_t image, uint8_t slot, bool active, bool confirm) {
  SMPKIT_TRY(CheckImage(image));
  if (slot > 1) return Error::Format(Errc::kInvalidArgument, "no slot %u", slot);
  const auto& area = Slot(image, slot);
  const auto& l = layouts_[image];
  if (active) confirm = true;
  SMPKIT_ASSIGN_OR_RETURN(TrailerState t, ReadTrailer(area, l));
  if (t.magic == MagicState::kBad) {
    return Error::Format(Errc::kCorrupt, "slot %u trailer magic is corrupt (%s)", slot,
                         active ? "BOOT_EBADVECT" : "BOOT_EBADIMAGE");
  }
  if (config_.mode == BootMode::kDirectXip) {
    if (t.magic == MagicState::kUnset) SMPKIT_TRY(WriteMagic(area, l));
    if (confirm) {
      if (t.copy_done == FlagState::kUnset) SMPKIT_TRY(WriteCopyDone(area, l));
      if (t.image_ok == FlagState::kUnset) SMPKIT_TRY(WriteImageOk(area, l));
    }
    return Ok();
  }
  if (t.magic == MagicState::kGood) {
    if (active && t.image_ok == FlagState::kUnset) SMPKIT_TRY(WriteImageOk(area, l));
    return Ok();
  }
  if (active) return Ok();  // confirming a primary without a trailer: nothing to revert
  SMPKIT_TRY(WriteMagic(area, l));
  if (confirm) SMPKIT_TRY(WriteImageOk(area, l));
  return WriteSwapInfo(area, l, confirm ? SwapType::kPerm : SwapType::kTest,
                       static_cast<uint8_t>(image));
}

Status Bootloader::RequestUpgrade(uint32_t image, bool permanent) {
  SMPKIT_TRY(CheckImage(image));
  const uint8_t other = config_.mode == BootMode::kDirectXip ? 1 - active_slot_[image] : 1;
  return SetNext(image, other, false, permanent);
}

Status Bootloader::ConfirmRunning(uint32_t image) {
  SMPKIT_TRY(CheckImage(image));
  return SetNext(image, active_slot_[image], true, true);
}

Result<ImageStateList> Bootloader::ReadImageState() {
  SMPKIT_TRY(setup_);
  ImageStateList out;
  for (uint32_t i = 0; i < image_count_; ++i) {
    const uint8_t active = active_slot_[i];
    SMPKIT_ASSIGN_OR_RETURN(SwapType t, PendingSwapType(i));
    std::array<std::optional<SlotImage>, 2> imgs;
    for (uint8_t slot = 0; slot < 2; ++slot) {
      auto img = ReadSlotImage(Slot(i, slot), buffer_);
      if (img.ok()) {
        imgs[slot] = *img;
      } else if (img.error().code() == Errc::kIo) {
        return img.error();
      }
    }
    for (uint8_t slot = 0; slot < 2; ++slot) {
      if (!imgs[slot]) continue;
      ImageSlotState& s = out.slots[out.count++];
      s.image = static_cast<uint8_t>(i);
      s.slot = slot;
      s.version = imgs[slot]->header.version;
      s.hash = imgs[slot]->hash;
      s.has_hash = imgs[slot]->has_hash;
      s.bootable = imgs[slot]->header.bootable();
      s.active = slot == active;
      if (config_.mode != BootMode::kDirectXip) {
        if (slot == active) {
          s.confirmed = t != SwapType::kRevert;
        } else {
          s.pending = t == SwapType::kTest || t == SwapType::kPerm;
          s.permanent = t == SwapType::kPerm;
          s.confirmed = t == SwapType::kRevert;
        }
        continue;
      }
      SMPKIT_ASSIGN_OR_RETURN(TrailerState tr, ReadTrailer(Slot(i, slot), layouts_[i]));
      const bool forever = tr.magic == MagicState::kGood && tr.image_ok == FlagState::kSet;
      if (slot == active) {
        s.confirmed = !config_.direct_xip_revert || forever;
        continue;
      }
      const bool newer = !imgs[active] || CompareVersions(imgs[slot]->header.version,
                                                          imgs[active]->header.version) > 0;
      if (!newer) continue;
      if (!config_.direct_xip_revert || forever) {
        s.pending = s.permanent = true;
      } else if (tr.magic == MagicState::kGood && tr.copy_done != FlagState::kSet) {
        s.pending = true;  // will be tried once
      }
    }
  }
  return out;
}

Status Bootloader::WriteImageState(std::optional<ConstByteSpan> hash, bool confirm) {
  SMPKIT_TRY(setup_);
  uint32_t image = 0;
  uint8_t slot = active_slot_[0];
  if (!hash) {
    if (!confirm) return Error(Errc::kInvalidArgument, "invalid hash: none given for a test");
  } else {
    SMPKIT_ASSIGN_OR_RETURN(ImageStateList list, ReadImageState());
    const ImageSlotState* found = nullptr;
    for (const auto& s : list.view()) {
      if (s.has_hash && hash->size() == s.hash.size() &&
          std::equal(hash->begin(), hash->end(), s.hash.begin())) {
        found = &s;
      }
    }
    if (!found) return Error(Errc::kNotFound, "no slot holds an image with that hash");
    image = found->image;
    slot = found->slot;
  }
  const uint8_t active = active_slot_[image];
  if (!confirm && slot == active) {
    return Error(Errc::kAccessDenied, "cannot test the running image");
  }
  if (config_.mode == BootMode::kDirectXip) return SetNext(image, slot, slot == active, confirm);
  SMPKIT_ASSIGN_OR_RETURN(SwapType t, PendingSwapType(image));
  const Error pending(Errc::kBusy, "an upgrade is already pending");
  switch (t) {
    case SwapType::kTest:
      if (!confirm && slot != active) return Ok();
      return pending;
    case SwapType::kPerm:
      if (confirm && slot != active) return Ok();
      return pending;
    case SwapType::kRevert:
      if (!confirm) return pending;
      if (slot != active) return Ok();
      return SetNext(image, slot, true, true);
    default:
      if (slot == active) return Ok();  // already confirmed: nothing to write
      return SetNext(image, slot, false, confirm);
  }
}

Result<bool> Bootloader::SlotInUse(uint32_t image, uint8_t slot) {
  SMPKIT_TRY(CheckImage(image));
  if (slot == active_slot_[image]) return true;
  if (config_.mode == BootMode::kDirectXip) return false;
  SMPKIT_ASSIGN_OR_RETURN(SwapType t, PendingSwapType(image));
  return t != SwapType::kNone;
}

}  // namespace smpkit::mcuboot
