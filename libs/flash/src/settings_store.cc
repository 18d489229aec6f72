#include "smpkit/flash/settings_store.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "smpkit/base/crc.h"

namespace smpkit::flash {

namespace {

constexpr size_t kMaxRecord = 4 + SettingsStore::kMaxName + SettingsStore::kMaxValue + 4 + 16;

uint16_t Le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t Le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
void PutLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

Result<SettingsStore> SettingsStore::Open(const Partition& partition) {
  if (!partition.present() || partition.page_count() < 2 || partition.page_count() % 2 != 0) {
    return Error(Errc::kInvalidArgument,
                 "settings partition needs an even number of pages (2 or more)");
  }
  if (partition.write_align() > 16) {
    return Error(Errc::kInvalidArgument, "settings partition: flash write unit above 16 bytes");
  }
  SettingsStore s;
  s.part_ = partition;
  s.half_ = partition.size() / 2;
  s.align_ = std::max<uint32_t>(1, partition.write_align());
  // The valid half with the highest sequence is the active one.
  for (int h = 0; h < 2; ++h) {
    uint8_t hdr[8];
    SMPKIT_TRY(partition.Read(s.Base(h), hdr));
    if (Le32(hdr) != kMagic) continue;
    const uint32_t seq = Le32(hdr + 4);
    if (s.active_ < 0 || seq > s.seq_) {
      s.active_ = h;
      s.seq_ = seq;
    }
  }
  if (s.active_ >= 0) {
    uint32_t pos = s.HeaderSize();
    Record r;
    while (s.ReadRecord(s.active_, pos, &r, nullptr, nullptr)) pos += r.size;
    s.end_ = pos;
    // Anything written after the last good record is a torn one: the next append compacts.
    if (pos < s.half_) {
      SMPKIT_ASSIGN_OR_RETURN(bool erased,
                              partition.IsErased(s.Base(s.active_) + pos, s.half_ - pos));
      s.dirty_ = !erased;
    }
  }
  return s;
}

bool SettingsStore::ReadRecord(int half, uint32_t pos, Record* r, char* name,
                               uint8_t* value) const {
  if (pos + 4 > half_) return false;
  std::array<uint8_t, kMaxRecord> buf;
  if (!part_.Read(Base(half) + pos, ByteSpan(buf.data(), 4)).ok()) return false;
  const uint16_t nl = Le16(buf.data());
  const uint16_t vl = Le16(buf.data() + 2);
  if (nl == 0 || nl > kMaxName || (vl > kMaxValue && vl != kDeleted)) return false;
  const uint32_t body = 4u + nl + (vl == kDeleted ? 0u : vl);
  const uint32_t size = Pad(body + 4);
  if (pos + size > half_) return false;
  if (!part_.Read(Base(half) + pos, ByteSpan(buf.data(), body + 4)).ok()) return false;
  if (Crc32(ConstByteSpan(buf.data(), body)) != Le32(buf.data() + body)) return false;
  r->pos = pos;
  r->size = size;
  r->name_len = nl;
  r->val_len = vl;
  if (name) std::memcpy(name, buf.data() + 4, nl);
  if (value && vl != kDeleted) std::memcpy(value, buf.data() + 4 + nl, vl);
  return true;
}

template <typename Fn>
Status SettingsStore::Walk(Fn&& fn) const {
  if (active_ < 0) return Ok();
  std::array<char, kMaxName> name;
  std::array<uint8_t, kMaxValue> value;
  for (uint32_t pos = HeaderSize(); pos < end_;) {
    Record r;
    if (!ReadRecord(active_, pos, &r, name.data(), value.data())) break;
    fn(r, std::string_view(name.data(), r.name_len),
       ConstByteSpan(value.data(), r.deleted() ? 0 : r.val_len));
    pos += r.size;
  }
  return Ok();
}

bool SettingsStore::Superseded(uint32_t after, std::string_view name) const {
  bool found = false;
  (void)Walk([&](const Record& r, std::string_view n, ConstByteSpan) {
    if (r.pos > after && n == name) found = true;
  });
  return found;
}

Result<size_t> SettingsStore::Read(std::string_view name, ByteSpan out) const {
  bool found = false;
  size_t size = 0;
  bool short_out = false;
  SMPKIT_TRY(Walk([&](const Record& r, std::string_view n, ConstByteSpan v) {
    if (n != name) return;
    found = !r.deleted();
    size = v.size();
    short_out = size > out.size();
    if (found && !short_out) std::copy(v.begin(), v.end(), out.begin());
  }));
  if (!found) return Error(Errc::kNotFound, "no such setting");
  if (short_out) return Error(Errc::kNoSpace, "setting larger than the buffer");
  return size;
}

Status SettingsStore::ForEach(
    const std::function<void(std::string_view, ConstByteSpan)>& fn) const {
  return Walk([&](const Record& r, std::string_view n, ConstByteSpan v) {
    if (!r.deleted() && !Superseded(r.pos, n)) fn(n, v);
  });
}

Status SettingsStore::Save(std::string_view name, ConstByteSpan value) {
  if (name.empty() || name.size() > kMaxName) {
    return Error::Format(Errc::kInvalidArgument, "setting name of %zu bytes (1..%zu)", name.size(),
                         kMaxName);
  }
  if (value.size() > kMaxValue) {
    return Error::Format(Errc::kInvalidArgument, "setting value of %zu bytes (at most %zu)",
                         value.size(), kMaxValue);
  }
  std::array<uint8_t, kMaxValue> cur;
  auto now = Read(name, cur);
  if (now.ok() && *now == value.size() && std::equal(value.begin(), value.end(), cur.begin())) {
    return Ok();
  }
  return Append(name, value, false);
}

Status SettingsStore::Delete(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) return Error(Errc::kInvalidArgument, "setting name");
  std::array<uint8_t, kMaxValue> cur;
  if (!Read(name, cur).ok()) return Ok();
  return Append(name, {}, true);
}

Status SettingsStore::Append(std::string_view name, ConstByteSpan value, bool deleted) {
  const uint32_t body = 4u + static_cast<uint32_t>(name.size() + (deleted ? 0 : value.size()));
  const uint32_t size = Pad(body + 4);
  if (active_ < 0 || dirty_ || end_ + size > half_) SMPKIT_TRY(Compact());
  if (end_ + size > half_) return Error(Errc::kNoSpace, "the settings do not fit the partition");
  std::array<uint8_t, kMaxRecord> buf;
  buf.fill(part_.erased_value());
  PutLe16(buf.data(), static_cast<uint16_t>(name.size()));
  PutLe16(buf.data() + 2, deleted ? kDeleted : static_cast<uint16_t>(value.size()));
  std::memcpy(buf.data() + 4, name.data(), name.size());
  if (!deleted && !value.empty())
    std::memcpy(buf.data() + 4 + name.size(), value.data(), value.size());
  PutLe32(buf.data() + body, Crc32(ConstByteSpan(buf.data(), body)));
  const uint32_t at = end_;
  // A failed write may have left part of the record: the next append compacts first.
  dirty_ = true;
  SMPKIT_TRY(part_.Write(Base(active_) + at, ConstByteSpan(buf.data(), size)));
  dirty_ = false;
  end_ = at + size;
  return Ok();
}

// Copies the live records into the other half, then writes its header: until then the old
// half stays the active one.
Status SettingsStore::Compact() {
  const int to = active_ < 0 ? 0 : 1 - active_;
  SMPKIT_TRY(part_.Erase(Base(to), half_));
  uint32_t pos = HeaderSize();
  Status copy = Ok();
  SMPKIT_TRY(Walk([&](const Record& r, std::string_view n, ConstByteSpan) {
    if (!copy.ok() || r.deleted() || Superseded(r.pos, n)) return;
    if (pos + r.size > half_) {
      copy = Error(Errc::kNoSpace, "the settings do not fit the partition");
      return;
    }
    std::array<uint8_t, kMaxRecord> buf;
    Status st = part_.Read(Base(active_) + r.pos, ByteSpan(buf.data(), r.size));
    if (st.ok()) st = part_.Write(Base(to) + pos, ConstByteSpan(buf.data(), r.size));
    if (!st.ok()) copy = st;
    pos += r.size;
  }));
  SMPKIT_TRY(copy);
  std::array<uint8_t, 16> hdr;
  hdr.fill(part_.erased_value());
  PutLe32(hdr.data(), kMagic);
  PutLe32(hdr.data() + 4, seq_ + 1);
  SMPKIT_TRY(part_.Write(Base(to), ConstByteSpan(hdr.data(), HeaderSize())));
  active_ = to;
  ++seq_;
  end_ = pos;
  dirty_ = false;
  return Ok();
}

}  // namespace smpkit::flash
