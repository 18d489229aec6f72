#include "smpkit/flash/partition.h"

#include <algorithm>
#include <array>

namespace smpkit::flash {

Result<Partition> Partition::Make(Flash& flash, uint32_t offset, uint32_t size, uint8_t id) {
  if (uint64_t{offset} + size > flash.size()) {
    return Error::Format(Errc::kInvalidArgument,
                         "partition %u [0x%x, +0x%x) exceeds the flash size 0x%x", id, offset,
                         size, flash.size());
  }
  if (offset % flash.page_size() != 0 || size % flash.page_size() != 0 || size == 0) {
    return Error::Format(Errc::kInvalidArgument,
                         "partition %u [0x%x, +0x%x) is not a whole number of 0x%x-byte pages",
                         id, offset, size, flash.page_size());
  }
  return Partition(&flash, offset, size, id);
}

Status Partition::Check(const char* op, uint32_t offset, uint64_t length) const {
  if (!flash_) return Error::Format(Errc::kNotFound, "flash area absent (%s)", op);
  if (uint64_t{offset} + length > size_) {
    return Error::Format(Errc::kInvalidArgument,
                         "%s of %llu bytes at 0x%x exceeds flash area %u of size 0x%x", op,
                         static_cast<unsigned long long>(length), offset, id_, size_);
  }
  return Ok();
}

Status Partition::Read(uint32_t offset, ByteSpan out) const {
  SMPKIT_TRY(Check("read", offset, out.size()));
  return flash_->Read(offset_ + offset, out);
}

Status Partition::Write(uint32_t offset, ConstByteSpan data) const {
  SMPKIT_TRY(Check("write", offset, data.size()));
  return flash_->Write(offset_ + offset, data);
}

Status Partition::WriteUnaligned(uint32_t offset, ConstByteSpan data) const {
  SMPKIT_TRY(Check("write", offset, data.size()));
  const uint32_t a = std::max<uint32_t>(1, write_align());
  if (a > kMaxPatchBytes) {
    return Error::Format(Errc::kNotSupported, "flash write unit %u > %u bytes", a,
                         kMaxPatchBytes);
  }
  std::array<uint8_t, kMaxPatchBytes> unit;
  // Reads the units [start, end), patches `part` in at `at` and writes them.
  auto patch = [&](uint32_t start, uint32_t end, uint32_t at, ConstByteSpan part) -> Status {
    const ByteSpan w(unit.data(), end - start);
    SMPKIT_TRY(Read(start, w));
    std::copy(part.begin(), part.end(), w.begin() + (at - start));
    return Write(start, w);
  };
  const uint64_t end64 = uint64_t{offset} + data.size();
  const uint32_t start = offset / a * a;
  const auto end = static_cast<uint32_t>((end64 + a - 1) / a * a);
  if (data.empty()) return Ok();
  if (end - start <= kMaxPatchBytes) return patch(start, end, offset, data);
  // A partial head unit, the whole units, a partial tail unit.
  uint32_t pos = offset;
  if (pos != start) {
    const size_t k = start + a - pos;
    SMPKIT_TRY(patch(start, start + a, pos, data.first(k)));
    data = data.subspan(k);
    pos = start + a;
  }
  const size_t whole = data.size() / a * a;
  if (whole > 0) {
    SMPKIT_TRY(Write(pos, data.first(whole)));
    data = data.subspan(whole);
    pos += static_cast<uint32_t>(whole);
  }
  if (!data.empty()) SMPKIT_TRY(patch(pos, pos + a, pos, data));
  return Ok();
}

Status Partition::ErasePage(uint32_t offset) const {
  SMPKIT_TRY(Check("erase", offset, page_size()));
  return flash_->ErasePage(offset_ + offset);
}

Status Partition::Erase(uint32_t offset, uint32_t length) const {
  SMPKIT_TRY(Check("erase", offset, length));
  return flash_->Erase(offset_ + offset, length);
}

Result<bool> Partition::IsErased(uint32_t offset, uint32_t length) const {
  SMPKIT_TRY(Check("read", offset, length));
  return flash_->IsErased(offset_ + offset, length);
}

Status Partition::CopyFrom(const Partition& src, uint32_t src_offset, uint32_t dst_offset,
                           uint32_t length, ByteSpan buf) const {
  const uint32_t align = std::max(write_align(), 1u);
  const size_t chunk = buf.size() / align * align;
  if (chunk == 0) {
    return Error::Format(Errc::kInvalidArgument, "copy buffer of %zu bytes is below the write "
                         "alignment %u", buf.size(), align);
  }
  for (uint32_t done = 0; done < length;) {
    const auto n = static_cast<uint32_t>(std::min<size_t>(chunk, length - done));
    ByteSpan b = buf.first(n);
    SMPKIT_TRY(src.Read(src_offset + done, b));
    SMPKIT_TRY(Write(dst_offset + done, b));
    done += n;
  }
  return Ok();
}

Result<Layout> MakeLayout(Flash& flash, const LayoutSpec& spec) {
  if (spec.images == 0 || spec.images > kMaxImages) {
    return Error::Format(Errc::kInvalidArgument, "layout with %u images (1..%zu supported)",
                         spec.images, kMaxImages);
  }
  if (spec.slot_size == 0) return Error(Errc::kInvalidArgument, "layout slot size is 0");
  const uint64_t total = uint64_t{spec.bootloader_size} + 2ull * spec.images * spec.slot_size +
                         spec.scratch_size + spec.storage_size;
  if (total > flash.size()) {
    return Error::Format(Errc::kNoSpace, "layout needs 0x%llx bytes, flash has 0x%x",
                         static_cast<unsigned long long>(total), flash.size());
  }
  Layout l;
  uint32_t at = 0;
  auto take = [&](uint32_t size, uint8_t id, Partition& out) -> Status {
    if (size == 0) return Ok();
    SMPKIT_ASSIGN_OR_RETURN(out, Partition::Make(flash, at, size, id));
    at += size;
    return Ok();
  };
  SMPKIT_TRY(take(spec.bootloader_size, kAreaBootloader, l.bootloader));
  static constexpr uint8_t kIds[kMaxImages][2] = {{kAreaImage0Primary, kAreaImage0Secondary},
                                                  {kAreaImage1Primary, kAreaImage1Secondary}};
  for (uint32_t i = 0; i < spec.images; ++i) {
    SMPKIT_TRY(take(spec.slot_size, kIds[i][0], l.images[i].primary));
    SMPKIT_TRY(take(spec.slot_size, kIds[i][1], l.images[i].secondary));
  }
  l.image_count = spec.images;
  SMPKIT_TRY(take(spec.scratch_size, kAreaScratch, l.scratch));
  SMPKIT_TRY(take(spec.storage_size, kAreaStorage, l.storage));
  l.end = at;
  return l;
}

}  // namespace smpkit::flash
