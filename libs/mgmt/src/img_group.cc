#include "smpkit/mgmt/img_group.h"

#include <algorithm>
#include <cstring>

#include "smpkit/cbor/reader.h"
#include "smpkit/smp/img_upload.h"
#include "smpkit/smp/requests.h"
#include "smpkit/smp/responses.h"

namespace smpkit::mgmt {

using smp::ImgErr;
using smp::MgmtErr;
using smp::Op;
using smp::Outcome;

namespace {
Outcome ImgError(ImgErr e, const char* reason = nullptr) {
  return Outcome::GroupError(smp::kGroupImage, static_cast<uint16_t>(e), reason);
}
constexpr uint8_t kMagic[4] = {0x3d, 0xb8, 0xf3, 0x96};
}  // namespace

ImgGroup::ImgGroup(mcuboot::Bootloader& boot, std::span<const flash::SlotPair> slots,
                   const ImgGroupConfig& config, ImgHooks& hooks)
    : smp::Group(smp::kGroupImage), boot_(boot), config_(config), hooks_(hooks) {
  image_count_ = static_cast<uint32_t>(std::min(slots.size(), slots_.size()));
  std::copy_n(slots.begin(), image_count_, slots_.begin());
}

const flash::Partition& ImgGroup::SlotPartition(uint8_t abs_slot) const {
  const auto& pair = slots_[abs_slot / 2];
  return abs_slot % 2 == 0 ? pair.primary : pair.secondary;
}

bool ImgGroup::Supports(uint8_t command, Op op) const {
  switch (command) {
    case kState:
      return true;
    case kUpload:
      return op == Op::kWrite;
    case kErase:
      return op == Op::kWrite;
    case kSlotInfo:
      return config_.slot_info && op == Op::kRead;
    default:
      return false;
  }
}

Outcome ImgGroup::Handle(const smp::Request& r, cbor::Writer& w) {
  switch (r.header.id) {
    case kState:
      return r.op() == Op::kRead ? StateRead(w) : StateWrite(r, w);
    case kUpload:
      return Upload(r, w);
    case kErase:
      return Erase(r);
    case kSlotInfo:
      return SlotInfo(w);
    default:
      return Outcome::Rc(MgmtErr::kNotSup);
  }
}

Outcome ImgGroup::StateRead(cbor::Writer& w) {
  auto list = boot_.ReadImageState();
  if (!list.ok()) return ImgError(ImgErr::kFlashReadFailed);
  smp::img::StateResponse::Write(w, [&] {
    for (const auto& s : list->view()) {
      if (!s.has_hash) continue;  // Zephyr lists only images with a SHA-256 TLV
      char version[mcuboot::kMaxVersionStringSize];
      smp::img::StateEntry e;
      if (image_count_ > 1) e.image = s.image;
      e.slot = s.slot;
      e.version = s.version.Format(version);
      e.hash = s.hash;
      e.bootable = s.bootable;
      e.pending = s.pending;
      e.confirmed = s.confirmed;
      e.active = s.active;
      e.permanent = s.permanent;
      e.Write(w);
    }
  });
  return Outcome::Success();
}

Outcome ImgGroup::StateWrite(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::img::StateWriteRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  const bool has_hash = req->hash.has_value(), confirm = req->confirm;
  const ConstByteSpan hash = req->hash.value_or(ConstByteSpan());
  if (!has_hash && !confirm) return ImgError(ImgErr::kInvalidHash);
  if (has_hash && hash.size() != 32) return ImgError(ImgErr::kInvalidHash);
  bool active_target = !has_hash;
  if (has_hash) {
    auto list = boot_.ReadImageState();
    if (!list.ok()) return ImgError(ImgErr::kFlashReadFailed);
    const mcuboot::ImageSlotState* found = nullptr;
    for (const auto& s : list->view()) {
      if (s.has_hash && std::equal(hash.begin(), hash.end(), s.hash.begin())) {
        found = &s;
        break;
      }
    }
    if (found == nullptr) return ImgError(ImgErr::kHashNotFound);
    if (!confirm && found->active) return ImgError(ImgErr::kImageSettingTestToActiveDenied);
    active_target = found->active;
  }
  Status st = has_hash ? boot_.WriteImageState(hash, confirm)
                       : boot_.WriteImageState(std::nullopt, confirm);
  if (!st.ok()) {
    switch (st.error().code()) {
      case Errc::kInvalidArgument:
        return ImgError(ImgErr::kInvalidHash);
      case Errc::kNotFound:
        return ImgError(ImgErr::kHashNotFound);
      case Errc::kAccessDenied:
        return ImgError(confirm ? ImgErr::kImageConfirmationDenied
                                : ImgErr::kImageSettingTestToActiveDenied);
      case Errc::kBusy:
        return ImgError(ImgErr::kImageAlreadyPending);
      case Errc::kIo:
        return ImgError(ImgErr::kFlashWriteFailed);
      default:
        return ImgError(ImgErr::kUnknown);
    }
  }
  if (confirm && active_target) hooks_.OnDfuEvent(DfuEvent::kConfirmed);
  return StateRead(w);
}

Outcome ImgGroup::Fail(ImgErr err, const char* reason) {
  const bool was_active = session_.active;
  ResetSession();
  if (was_active) hooks_.OnDfuEvent(DfuEvent::kStopped);
  return ImgError(err, reason);
}

Status ImgGroup::EraseAhead(uint32_t to) {
  if (!config_.erase_progressively || to <= session_.erased_to) return Ok();
  const flash::Partition& part = SlotPartition(session_.slot);
  const uint32_t page = part.page_size();
  const uint32_t end = std::min(part.size(), (to + page - 1) / page * page);
  for (uint32_t at = session_.erased_to; at < end; at += page) {
    SMPKIT_ASSIGN_OR_RETURN(bool blank, part.IsErased(at, page));
    if (!blank) SMPKIT_TRY(part.ErasePage(at));
  }
  session_.erased_to = end;
  return Ok();
}

Status ImgGroup::WriteData(ConstByteSpan data) {
  const flash::Partition& part = SlotPartition(session_.slot);
  SMPKIT_TRY(EraseAhead(session_.off + static_cast<uint32_t>(data.size()) + 16));
  const uint32_t align = std::max<uint32_t>(1, part.write_align());
  if (align > session_.tail.size()) return Error(Errc::kNotSupported, "flash write unit > 16");
  uploaded_bytes_ += data.size();
  // Offset in flash of the first byte not yet written.
  uint32_t flash_off = session_.off - session_.tail_len;
  while (!data.empty()) {
    if (session_.tail_len > 0 || data.size() < align) {
      const size_t take = std::min<size_t>(align - session_.tail_len, data.size());
      std::memcpy(session_.tail.data() + session_.tail_len, data.data(), take);
      session_.tail_len = static_cast<uint8_t>(session_.tail_len + take);
      data = data.subspan(take);
      if (session_.tail_len == align) {
        SMPKIT_TRY(part.Write(flash_off, ConstByteSpan(session_.tail.data(), align)));
        flash_off += align;
        session_.tail_len = 0;
      }
      continue;
    }
    const size_t whole = data.size() / align * align;
    SMPKIT_TRY(part.Write(flash_off, data.first(whole)));
    flash_off += static_cast<uint32_t>(whole);
    data = data.subspan(whole);
  }
  return Ok();
}

Status ImgGroup::Flush() {
  if (session_.tail_len == 0) return Ok();
  // The last unit keeps its erased bytes after the image.
  SMPKIT_TRY(SlotPartition(session_.slot)
                 .WriteUnaligned(session_.off - session_.tail_len,
                                 ConstByteSpan(session_.tail.data(), session_.tail_len)));
  session_.tail_len = 0;
  return Ok();
}

Result<bool> ImgGroup::FinalMatch() {
  if (session_.sha_len != 32) return false;
  const flash::Partition& part = SlotPartition(session_.slot);
  mcuboot::Hasher hasher(mcuboot::HashAlg::kSha256);
  // A page at a time: on a file-backed flash each read is a system call.
  std::array<uint8_t, 4096> buf;
  for (uint32_t pos = 0; pos < session_.len;) {
    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(buf.size()), session_.len - pos);
    SMPKIT_TRY(part.Read(pos, ByteSpan(buf.data(), n)));
    SMPKIT_TRY(hasher.Update(ConstByteSpan(buf.data(), n)));
    pos += n;
  }
  SMPKIT_ASSIGN_OR_RETURN(mcuboot::Digest d, hasher.Final());
  return std::equal(session_.sha.begin(), session_.sha.end(), d.bytes.begin());
}

Outcome ImgGroup::Upload(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::img::UploadRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  if (!req->off) return Fail(ImgErr::kInvalidOffset, "invalid offset");
  const uint64_t image = req->image.value_or(0), len = req->len.value_or(0), off = *req->off;
  const ConstByteSpan sha = req->sha, data = req->data;
  const bool has_len = req->len.has_value(), upgrade = req->upgrade;

  UploadCheck check;
  check.off = static_cast<uint32_t>(std::min<uint64_t>(off, UINT32_MAX));
  check.data_len = static_cast<uint32_t>(data.size());
  check.upgrade = upgrade;

  if (off == 0) {
    if (data.size() < 32) return Fail(ImgErr::kInvalidImageHeader, "header malformed");
    if (!has_len) return Fail(ImgErr::kInvalidLength, "invalid length");
    if (!std::equal(std::begin(kMagic), std::end(kMagic), data.begin())) {
      return Fail(ImgErr::kInvalidImageHeaderMagic, "magic mismatch");
    }
    if (sha.size() > 32) return Fail(ImgErr::kInvalidHash, "invalid hash");
    if (session_.active && !sha.empty() && sha.size() == session_.sha_len &&
        std::equal(sha.begin(), sha.end(), session_.sha.begin())) {
      smp::img::UploadResponse{session_.off, std::nullopt}.Write(w);  // resume: nothing written
      return Outcome::Success();
    }
    // Destination: the slot opposite the running one of that image (§6.5.4).
    const uint32_t img = image_count_ > 1 ? static_cast<uint32_t>(image) : 0;
    if (img >= image_count_) return Fail(ImgErr::kNoFreeSlot, "no slot");
    const uint8_t rel = static_cast<uint8_t>(boot_.active_slot(img) ^ 1);
    auto in_use = boot_.SlotInUse(img, rel);
    if (!in_use.ok()) return Fail(ImgErr::kFlashReadFailed, nullptr);
    if (*in_use) return Fail(ImgErr::kNoFreeSlot, "no slot");
    const uint8_t abs_slot = static_cast<uint8_t>(img * 2 + rel);
    const flash::Partition& part = SlotPartition(abs_slot);
    if (len > part.size()) return Fail(ImgErr::kInvalidImageTooLarge, "img too large");
    // A first chunk longer than the image: Zephyr does not check this on chunk 0 (§6.5.3
    // notes the session could never complete); answered as the same overrun on any
    // continuation is, before anything is erased or written.
    if (data.size() > len) return Fail(ImgErr::kInvalidImageDataOverrun, "data overrun");
    if (upgrade) {
      auto hdr = mcuboot::ImageHeader::Decode(data.first(32));
      auto state = boot_.ReadImageState();
      if (!hdr.ok() || !state.ok()) return Fail(ImgErr::kVersionGetFailed, nullptr);
      for (const auto& s : state->view()) {
        if (s.image == 0 && s.active &&
            mcuboot::CompareVersions(s.version, hdr->version, config_.version_cmp_use_build) >= 0) {
          return Fail(ImgErr::kCurrentVersionIsNewer, "downgrade");
        }
      }
    }
    // With progressive erase the slot is not scanned up front (Zephyr skips the scan too).
    auto erased = config_.erase_progressively ? Result<bool>(true) : part.IsErased(0, part.size());
    if (!erased.ok()) return Fail(ImgErr::kFlashReadFailed, nullptr);
    check.image = static_cast<uint8_t>(img);
    check.len = static_cast<uint32_t>(len);
    check.slot = abs_slot;
    check.erase = !*erased;
    Outcome verdict = hooks_.OnUploadChunk(check);
    if (verdict.kind() == Outcome::Kind::kRc) {
      if (session_.active) hooks_.OnDfuEvent(DfuEvent::kStopped);
      ResetSession();
      return verdict;
    }
    if (verdict.kind() == Outcome::Kind::kGroupError) {
      smp::WriteGroupError(w, verdict.group(), verdict.group_rc());
      smp::img::UploadResponse{session_.active ? session_.off : 0, std::nullopt}.Write(w);
      return verdict.KeepBody();
    }
    session_ = Session{};
    session_.active = true;
    session_.slot = abs_slot;
    session_.len = static_cast<uint32_t>(len);
    session_.sha_len = static_cast<uint8_t>(sha.size());
    std::copy(sha.begin(), sha.end(), session_.sha.begin());
    hooks_.OnDfuEvent(DfuEvent::kStarted);
    // CONFIG_IMG_ENABLE_IMAGE_CHECK with a full SHA-256: when the slot already holds the
    // image (its first bytes are this chunk's, and the len bytes hash to sha), Zephyr
    // finishes at once with {"off": len, "match": true} and writes nothing. That is also how
    // a client whose final answer was lost learns that the upload completed.
    if (config_.image_check && sha.size() == 32 && !*erased) {
      std::array<uint8_t, 32> head{};
      if (part.Read(0, head).ok() && std::equal(head.begin(), head.end(), data.begin())) {
        auto match = FinalMatch();
        if (match.ok() && *match) {
          smp::img::UploadResponse{session_.len, true}.Write(w);
          ResetSession();
          hooks_.OnDfuEvent(DfuEvent::kPending);
          return Outcome::Success();
        }
      }
    }
    if (!*erased && !config_.erase_progressively) {
      // Pages covering [0, len) and the trailer at the end of the slot.
      const uint32_t page = part.page_size();
      const uint32_t body = std::min(part.size(), (session_.len + page - 1) / page * page);
      if (!part.Erase(0, body).ok() || !part.Erase(part.size() - page, page).ok()) {
        return Fail(ImgErr::kFlashEraseFailed, "fa erase fail");
      }
    }
  } else {
    const uint32_t expected = session_.active ? session_.off : 0;
    if (off != expected) {
      smp::img::UploadResponse{expected, std::nullopt}.Write(w);  // not an error: the client rewinds
      return Outcome::Success();
    }
    if (off + data.size() > session_.len) {
      return Fail(ImgErr::kInvalidImageDataOverrun, "data overrun");
    }
    check.image = static_cast<uint8_t>(session_.slot / 2);
    check.len = session_.len;
    check.slot = session_.slot;
    Outcome verdict = hooks_.OnUploadChunk(check);
    if (verdict.kind() == Outcome::Kind::kRc) {
      hooks_.OnDfuEvent(DfuEvent::kStopped);
      ResetSession();
      return verdict;
    }
    if (verdict.kind() == Outcome::Kind::kGroupError) {
      smp::WriteGroupError(w, verdict.group(), verdict.group_rc());
      smp::img::UploadResponse{session_.off, std::nullopt}.Write(w);
      return verdict.KeepBody();
    }
  }

  if (!WriteData(data).ok()) return Fail(ImgErr::kFlashWriteFailed, "fa write fail");
  session_.off += static_cast<uint32_t>(data.size());
  smp::img::UploadResponse answer{session_.off, std::nullopt};
  if (session_.off >= session_.len) {
    if (!Flush().ok()) return Fail(ImgErr::kFlashWriteFailed, "fa write fail");
    if (config_.erase_progressively) {
      // The trailer page must not hold a stale trailer from an earlier image.
      const flash::Partition& part = SlotPartition(session_.slot);
      const uint32_t last = part.size() - part.page_size();
      if (session_.erased_to <= last) {
        auto blank = part.IsErased(last, part.page_size());
        if (!blank.ok() || (!*blank && !part.ErasePage(last).ok())) {
          return Fail(ImgErr::kFlashEraseFailed, "fa erase fail");
        }
      }
    }
    if (config_.image_check) {
      auto match = FinalMatch();
      answer.match = match.ok() && *match;
    }
    ResetSession();
    hooks_.OnDfuEvent(DfuEvent::kPending);
  } else {
    hooks_.OnDfuEvent(DfuEvent::kChunk);
  }
  answer.Write(w);
  return Outcome::Success();
}

Outcome ImgGroup::Erase(const smp::Request& r) {
  auto req = smp::img::EraseRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  const uint64_t slot = req->slot.value_or(static_cast<uint64_t>(boot_.active_slot(0) ^ 1));
  if (slot >= 2 * image_count_) return ImgError(ImgErr::kFlashOpenFailed);
  const uint32_t img = static_cast<uint32_t>(slot / 2);
  const uint8_t rel = static_cast<uint8_t>(slot % 2);
  auto in_use = boot_.SlotInUse(img, rel);
  if (!in_use.ok()) return ImgError(ImgErr::kFlashReadFailed);
  if (*in_use) return ImgError(ImgErr::kNoFreeSlot, "no slot");
  const flash::Partition& part = SlotPartition(static_cast<uint8_t>(slot));
  auto erased = part.IsErased(0, part.size());
  if (!erased.ok()) return ImgError(ImgErr::kFlashReadFailed);
  if (*erased) {
    if (config_.erase_blank_is_error) return ImgError(ImgErr::kUnknown);
  } else if (!part.EraseAll().ok()) {
    if (session_.active) hooks_.OnDfuEvent(DfuEvent::kStopped);
    ResetSession();
    return ImgError(ImgErr::kFlashEraseFailed, "fa erase fail");
  }
  ResetSession();
  return Outcome::Success();
}

Outcome ImgGroup::SlotInfo(cbor::Writer& w) {
  smp::img::SlotInfoResponse::Write(w, [&] {
    for (uint32_t i = 0; i < image_count_; ++i) {
      smp::img::SlotInfoImage::Write(w, i, boot_.MaxImageSize(i), [&] {
        for (uint8_t s = 0; s < 2; ++s) {
          smp::img::SlotInfoSlot slot;
          slot.slot = s;
          slot.size = SlotPartition(static_cast<uint8_t>(i * 2 + s)).size();
          if (s != boot_.active_slot(i)) slot.upload_image_id = i;
          slot.Write(w);
        }
      });
    }
  });
  return Outcome::Success();
}

}  // namespace smpkit::mgmt
