#include "smpkit/smp/responses.h"

#include <algorithm>
#include <utility>

#include "map_codec.h"
#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"

namespace smpkit::smp {

using detail::BytesSize;
using detail::TextSize;
using detail::UintEntrySize;

namespace {

size_t IntSize(int64_t v) {
  return cbor::HeadSize(v < 0 ? static_cast<uint64_t>(-(v + 1)) : static_cast<uint64_t>(v));
}

// `what` is a literal: referenced, not copied.
Error Missing(const char* what) { return Error::Static(Errc::kCorrupt, what); }

}  // namespace

// Encode is the same for every answer: Write into a map of its own.
#define SMPKIT_SMP_ENCODE(T)                                              \
  Result<size_t> T::Encode(ByteSpan out) const {                          \
    return detail::EncodeMap(out, [this](cbor::Writer& w) { Write(w); }); \
  }

namespace os {

Result<EchoResponse> EchoResponse::Parse(ConstByteSpan payload) {
  EchoResponse a;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::TextField("r", &a.r, &found)}));
  if (!found) return Missing("os echo response without \"r\"");
  return a;
}
void EchoResponse::Write(cbor::Writer& w) const { w.Key("r").Text(r); }
SMPKIT_SMP_ENCODE(EchoResponse)
size_t EchoResponse::EncodedSize() const { return 1 + TextSize("r") + TextSize(r); }

Result<ParamsResponse> ParamsResponse::Parse(ConstByteSpan payload) {
  ParamsResponse a;
  bool has_size = false, has_count = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::UintField("buf_size", &a.buf_size, &has_size),
                                       cbor::UintField("buf_count", &a.buf_count, &has_count)}));
  if (!has_size || !has_count) {
    return Missing("os params response without \"buf_size\" and \"buf_count\"");
  }
  return a;
}
void ParamsResponse::Write(cbor::Writer& w) const {
  w.Key("buf_size").Uint(buf_size).Key("buf_count").Uint(buf_count);
}
SMPKIT_SMP_ENCODE(ParamsResponse)
size_t ParamsResponse::EncodedSize() const {
  return 1 + UintEntrySize("buf_size", buf_size) + UintEntrySize("buf_count", buf_count);
}

Result<InfoResponse> InfoResponse::Parse(ConstByteSpan payload) {
  InfoResponse a;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::TextField("output", &a.output, &found)}));
  if (!found) return Missing("os info response without \"output\"");
  return a;
}
void InfoResponse::Write(cbor::Writer& w) const { w.Key("output").Text(output); }
SMPKIT_SMP_ENCODE(InfoResponse)
size_t InfoResponse::EncodedSize() const { return 1 + TextSize("output") + TextSize(output); }

Result<DateTimeResponse> DateTimeResponse::Parse(ConstByteSpan payload) {
  DateTimeResponse a;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::TextField("datetime", &a.datetime, &found)}));
  if (!found) return Missing("os date-time response without \"datetime\"");
  return a;
}
void DateTimeResponse::Write(cbor::Writer& w) const { w.Key("datetime").Text(datetime); }
SMPKIT_SMP_ENCODE(DateTimeResponse)
size_t DateTimeResponse::EncodedSize() const {
  return 1 + TextSize("datetime") + TextSize(datetime);
}

Result<BootloaderInfoResponse> BootloaderInfoResponse::Parse(ConstByteSpan payload) {
  BootloaderInfoResponse a;
  std::string_view name;
  int64_t mode = 0;
  bool has_name = false, has_mode = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::TextField("bootloader", &name, &has_name),
                                       cbor::IntField("mode", &mode, &has_mode),
                                       cbor::BoolField("no-downgrade", &a.no_downgrade)}));
  if (!has_name && !has_mode) {
    return Missing("bootloader info response without \"bootloader\" or \"mode\"");
  }
  if (has_name) a.bootloader = name;
  if (has_mode) a.mode = mode;
  return a;
}
void BootloaderInfoResponse::Write(cbor::Writer& w) const {
  if (bootloader) w.Key("bootloader").Text(*bootloader);
  if (mode) w.Key("mode").Int(*mode);
  if (no_downgrade) w.Key("no-downgrade").Bool(true);
}
SMPKIT_SMP_ENCODE(BootloaderInfoResponse)
size_t BootloaderInfoResponse::EncodedSize() const {
  return 1 + (bootloader ? TextSize("bootloader") + TextSize(*bootloader) : 0) +
         (mode ? TextSize("mode") + IntSize(*mode) : 0) +
         (no_downgrade ? TextSize("no-downgrade") + 1 : 0);
}

Result<TaskStatEntry> TaskStatEntry::Parse(std::string_view name, ConstByteSpan value) {
  TaskStatEntry t;
  t.name = name;
  int64_t prio = 0;
  uint64_t v[8] = {};
  bool has[9] = {};
  Status st = cbor::DecodeMap(
      value,
      {cbor::IntField("prio", &prio, &has[0]), cbor::UintField("tid", &v[0], &has[1]),
       cbor::UintField("state", &v[1], &has[2]), cbor::UintField("stkuse", &v[2], &has[3]),
       cbor::UintField("stksiz", &v[3], &has[4]), cbor::UintField("cswcnt", &v[4], &has[5]),
       cbor::UintField("runtime", &v[5], &has[6]), cbor::UintField("last_checkin", &v[6], &has[7]),
       cbor::UintField("next_checkin", &v[7], &has[8])});
  if (!st.ok()) {
    return Error::Format(st.error().code(), "task statistics, task '%.*s': %.*s",
                         static_cast<int>(std::min<size_t>(name.size(), 40)), name.data(),
                         static_cast<int>(st.error().message().size()),
                         st.error().message().data());
  }
  if (has[0]) t.prio = prio;
  std::optional<uint64_t>* fields[8] = {&t.tid,    &t.state,   &t.stkuse,       &t.stksiz,
                                        &t.cswcnt, &t.runtime, &t.last_checkin, &t.next_checkin};
  for (int i = 0; i < 8; ++i) {
    if (has[i + 1]) *fields[i] = v[i];
  }
  return t;
}

void TaskStatEntry::Write(cbor::Writer& w) const {
  w.Key(name).BeginMap();
  if (prio) w.Key("prio").Int(*prio);
  const std::pair<const char*, const std::optional<uint64_t>*> fields[] = {
      {"tid", &tid},
      {"state", &state},
      {"stkuse", &stkuse},
      {"stksiz", &stksiz},
      {"cswcnt", &cswcnt},
      {"runtime", &runtime},
      {"last_checkin", &last_checkin},
      {"next_checkin", &next_checkin}};
  for (const auto& [key, value] : fields) {
    if (*value) w.Key(key).Uint(**value);
  }
  w.End();
}

Result<TaskStatResponse> TaskStatResponse::Parse(ConstByteSpan payload) {
  cbor::RawValue tasks;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::RawField("tasks", &tasks, &found)}));
  if (!found) return Missing("task statistics without \"tasks\"");
  return TaskStatResponse{tasks.encoded};
}

}  // namespace os

namespace img {

Result<UploadResponse> UploadResponse::Parse(ConstByteSpan payload) {
  UploadResponse a;
  bool has_off = false, match = false, has_match = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::UintField("off", &a.off, &has_off),
                                       cbor::BoolField("match", &match, &has_match)}));
  if (!has_off) return Missing("image upload response without \"off\"");
  if (has_match) a.match = match;
  return a;
}
void UploadResponse::Write(cbor::Writer& w) const {
  w.Key("off").Uint(off);
  if (match) w.Key("match").Bool(*match);
}
SMPKIT_SMP_ENCODE(UploadResponse)
size_t UploadResponse::EncodedSize() const {
  return 1 + UintEntrySize("off", off) + (match ? TextSize("match") + 1 : 0);
}

Result<StateEntry> StateEntry::Parse(ConstByteSpan entry) {
  StateEntry s;
  uint64_t image = 0;
  bool has_image = false;
  SMPKIT_TRY(cbor::DecodeMap(
      entry, {cbor::UintField("image", &image, &has_image), cbor::UintField("slot", &s.slot),
              cbor::TextField("version", &s.version), cbor::BytesField("hash", &s.hash),
              cbor::BoolField("bootable", &s.bootable), cbor::BoolField("pending", &s.pending),
              cbor::BoolField("confirmed", &s.confirmed), cbor::BoolField("active", &s.active),
              cbor::BoolField("permanent", &s.permanent)}));
  if (has_image) s.image = image;
  return s;
}

void StateEntry::Write(cbor::Writer& w) const {
  w.BeginMap();
  if (image) w.Key("image").Uint(*image);
  w.Key("slot").Uint(slot).Key("version").Text(version).Key("hash").Bytes(hash);
  w.Key("bootable").Bool(bootable).Key("pending").Bool(pending);
  w.Key("confirmed").Bool(confirmed).Key("active").Bool(active);
  w.Key("permanent").Bool(permanent);
  w.End();
}

Result<StateResponse> StateResponse::Parse(ConstByteSpan payload) {
  cbor::RawValue images;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::RawField("images", &images, &found)}));
  if (!found) return Missing("image state response without \"images\"");
  return StateResponse{images.encoded};
}

Result<SlotInfoSlot> SlotInfoSlot::Parse(ConstByteSpan entry) {
  SlotInfoSlot s;
  uint64_t size = 0, id = 0;
  bool has_size = false, has_id = false;
  SMPKIT_TRY(cbor::DecodeMap(
      entry, {cbor::UintField("slot", &s.slot), cbor::UintField("size", &size, &has_size),
              cbor::UintField("upload_image_id", &id, &has_id)}));
  if (has_size) s.size = size;
  if (has_id) s.upload_image_id = id;
  return s;
}

void SlotInfoSlot::Write(cbor::Writer& w) const {
  w.BeginMap().Key("slot").Uint(slot);
  if (size) w.Key("size").Uint(*size);
  if (upload_image_id) w.Key("upload_image_id").Uint(*upload_image_id);
  w.End();
}

Result<SlotInfoImage> SlotInfoImage::Parse(ConstByteSpan entry) {
  SlotInfoImage i;
  cbor::RawValue slots;
  uint64_t max = 0;
  bool has_max = false;
  SMPKIT_TRY(
      cbor::DecodeMap(entry, {cbor::UintField("image", &i.image), cbor::RawField("slots", &slots),
                              cbor::UintField("max_image_size", &max, &has_max)}));
  i.slots = slots.encoded;
  if (has_max) i.max_image_size = max;
  return i;
}

Result<SlotInfoResponse> SlotInfoResponse::Parse(ConstByteSpan payload) {
  cbor::RawValue images;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::RawField("images", &images, &found)}));
  if (!found) return Missing("slot info response without \"images\"");
  return SlotInfoResponse{images.encoded};
}

}  // namespace img

namespace stat {

Result<ListResponse> ListResponse::Parse(ConstByteSpan payload) {
  cbor::RawValue list;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::RawField("stat_list", &list, &found)}));
  if (!found) return Missing("statistics list without \"stat_list\"");
  return ListResponse{list.encoded};
}

Result<std::string_view> ListResponse::ParseName(ConstByteSpan item) {
  cbor::Reader r(item);
  SMPKIT_ASSIGN_OR_RETURN(cbor::Item name, r.Next());
  if (name.type != cbor::Type::kText || !cbor::IsValidUtf8(name.text())) {
    return Error::Static(Errc::kTypeMismatch, "a statistics group name is not a UTF-8 text string");
  }
  return name.text();
}

Result<ShowResponse> ShowResponse::Parse(ConstByteSpan payload) {
  ShowResponse a;
  cbor::RawValue fields;
  bool has_fields = false;
  SMPKIT_TRY(cbor::DecodeMap(
      payload, {cbor::TextField("name", &a.name), cbor::RawField("fields", &fields, &has_fields)}));
  if (!has_fields) return Missing("statistics group without \"fields\"");
  a.fields = fields.encoded;
  return a;
}

Result<uint64_t> ShowResponse::ParseField(std::string_view key, ConstByteSpan value) {
  cbor::Reader r(value);
  SMPKIT_ASSIGN_OR_RETURN(cbor::Item v, r.Next());
  if (v.type != cbor::Type::kUint) {
    return Error::Format(Errc::kTypeMismatch, "statistics field '%.*s' is not an unsigned int",
                         static_cast<int>(std::min<size_t>(key.size(), 40)), key.data());
  }
  return v.raw;
}

}  // namespace stat

namespace settings {

Result<ReadResponse> ReadResponse::Parse(ConstByteSpan payload) {
  ReadResponse a;
  uint64_t max = 0;
  bool has_val = false, has_max = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::BytesField("val", &a.val, &has_val),
                                       cbor::UintField("max_size", &max, &has_max)}));
  if (!has_val) return Missing("settings read answer without \"val\"");
  if (has_max) a.max_size = max;
  return a;
}
void ReadResponse::Write(cbor::Writer& w) const {
  w.Key("val").Bytes(val);
  if (max_size) w.Key("max_size").Uint(*max_size);
}
SMPKIT_SMP_ENCODE(ReadResponse)
size_t ReadResponse::EncodedSize() const {
  return 1 + TextSize("val") + BytesSize(val) +
         (max_size ? UintEntrySize("max_size", *max_size) : 0);
}

}  // namespace settings

namespace fs {

Result<DownloadResponse> DownloadResponse::Parse(ConstByteSpan payload) {
  DownloadResponse a;
  uint64_t len = 0;
  bool has_off = false, has_data = false, has_len = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::UintField("off", &a.off, &has_off),
                                       cbor::BytesField("data", &a.data, &has_data),
                                       cbor::UintField("len", &len, &has_len)}));
  if (!has_off || !has_data) return Missing("file download answer without \"off\" and \"data\"");
  if (has_len) a.len = len;
  return a;
}
void DownloadResponse::Write(cbor::Writer& w) const {
  w.Key("off").Uint(off).Key("data").Bytes(data);
  if (len) WriteLen(w, *len);
}
ByteSpan DownloadResponse::WriteInPlace(cbor::Writer& w, uint64_t off, size_t n) {
  w.Key("off").Uint(off).Key("data");
  return w.BytesInPlace(n);
}
void DownloadResponse::WriteLen(cbor::Writer& w, uint64_t len) { w.Key("len").Uint(len); }
SMPKIT_SMP_ENCODE(DownloadResponse)
size_t DownloadResponse::EncodedSize() const {
  return 1 + UintEntrySize("off", off) + TextSize("data") + BytesSize(data) +
         (len ? UintEntrySize("len", *len) : 0);
}

Result<UploadResponse> UploadResponse::Parse(ConstByteSpan payload) {
  UploadResponse a;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::UintField("off", &a.off, &found)}));
  if (!found) return Missing("file upload answer without \"off\"");
  return a;
}
void UploadResponse::Write(cbor::Writer& w) const { w.Key("off").Uint(off); }
SMPKIT_SMP_ENCODE(UploadResponse)
size_t UploadResponse::EncodedSize() const { return 1 + UintEntrySize("off", off); }

Result<UploadOffsetResponse> UploadOffsetResponse::Parse(ConstByteSpan payload) {
  UploadOffsetResponse a;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::UintField("len", &a.len, &found)}));
  if (!found) return Missing("file upload offset error without \"len\"");
  return a;
}
void UploadOffsetResponse::Write(cbor::Writer& w) const { w.Key("len").Uint(len); }
SMPKIT_SMP_ENCODE(UploadOffsetResponse)
size_t UploadOffsetResponse::EncodedSize() const { return 1 + UintEntrySize("len", len); }

Result<StatusResponse> StatusResponse::Parse(ConstByteSpan payload) {
  StatusResponse a;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::UintField("len", &a.len, &found)}));
  if (!found) return Missing("file status answer without \"len\"");
  return a;
}
void StatusResponse::Write(cbor::Writer& w) const { w.Key("len").Uint(len); }
SMPKIT_SMP_ENCODE(StatusResponse)
size_t StatusResponse::EncodedSize() const { return 1 + UintEntrySize("len", len); }

Result<HashResponse> HashResponse::Parse(ConstByteSpan payload) {
  HashResponse a;
  cbor::RawValue output;
  bool has_type = false, has_len = false, has_output = false;
  SMPKIT_TRY(cbor::DecodeMap(
      payload,
      {cbor::TextField("type", &a.type, &has_type), cbor::UintField("off", &a.off),
       cbor::UintField("len", &a.len, &has_len), cbor::RawField("output", &output, &has_output)}));
  if (!has_type || !has_len || !has_output) {
    return Missing("file hash answer without \"type\", \"len\" and \"output\"");
  }
  cbor::Reader r(output.encoded);
  SMPKIT_ASSIGN_OR_RETURN(cbor::Item v, r.Next());
  if (v.type == cbor::Type::kUint && v.raw <= UINT32_MAX) {
    a.checksum = static_cast<uint32_t>(v.raw);
  } else if (v.type == cbor::Type::kBytes) {
    a.digest = v.bytes;
  } else {
    return Error::Static(Errc::kTypeMismatch,
                         "file hash \"output\" is neither a 32-bit uint nor a byte string");
  }
  return a;
}
void HashResponse::Write(cbor::Writer& w) const {
  w.Key("type").Text(type);
  if (off != 0) w.Key("off").Uint(off);
  w.Key("len").Uint(len).Key("output");
  if (checksum) {
    w.Uint(*checksum);
  } else {
    w.Bytes(digest);
  }
}
SMPKIT_SMP_ENCODE(HashResponse)
size_t HashResponse::EncodedSize() const {
  return 1 + TextSize("type") + TextSize(type) + (off != 0 ? UintEntrySize("off", off) : 0) +
         UintEntrySize("len", len) + TextSize("output") +
         (checksum ? cbor::HeadSize(*checksum) : BytesSize(digest));
}

Result<HashTypeEntry> HashTypeEntry::Parse(std::string_view name, ConstByteSpan value) {
  HashTypeEntry t;
  t.name = name;
  SMPKIT_TRY(cbor::DecodeMap(
      value, {cbor::UintField("format", &t.format), cbor::UintField("size", &t.size)}));
  return t;
}

void HashTypeEntry::Write(cbor::Writer& w) const {
  w.Key(name).BeginMap().Key("format").Uint(format).Key("size").Uint(size).End();
}

Result<SupportedHashesResponse> SupportedHashesResponse::Parse(ConstByteSpan payload) {
  cbor::RawValue types;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::RawField("types", &types, &found)}));
  if (!found) return Missing("supported hashes answer without \"types\"");
  return SupportedHashesResponse{types.encoded};
}

}  // namespace fs

namespace shell {

Result<ExecResponse> ExecResponse::Parse(ConstByteSpan payload) {
  ExecResponse a;
  int64_t ret = 0, rc = 0;
  bool has_o = false, has_ret = false, has_rc = false;
  SMPKIT_TRY(cbor::DecodeMap(
      payload, {cbor::TextField("o", &a.o, &has_o), cbor::IntField("ret", &ret, &has_ret),
                cbor::IntField("rc", &rc, &has_rc)}));
  if (!has_o || (!has_ret && !has_rc)) return Missing("shell answer without \"o\" and \"ret\"");
  a.legacy_rc = !has_ret;
  a.ret = has_ret ? ret : rc;
  return a;
}
void ExecResponse::Write(cbor::Writer& w) const {
  w.Key("o").Text(o).Key(legacy_rc ? "rc" : "ret").Int(ret);
}
SMPKIT_SMP_ENCODE(ExecResponse)
size_t ExecResponse::EncodedSize() const {
  return 1 + TextSize("o") + TextSize(o) + TextSize(legacy_rc ? "rc" : "ret") + IntSize(ret);
}

}  // namespace shell

namespace enumeration {

Result<CountResponse> CountResponse::Parse(ConstByteSpan payload) {
  CountResponse a;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::UintField("count", &a.count, &found)}));
  if (!found) return Missing("group count without \"count\"");
  return a;
}
void CountResponse::Write(cbor::Writer& w) const { w.Key("count").Uint(count); }
SMPKIT_SMP_ENCODE(CountResponse)
size_t CountResponse::EncodedSize() const { return 1 + UintEntrySize("count", count); }

Result<SingleResponse> SingleResponse::Parse(ConstByteSpan payload) {
  SingleResponse a;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(
      payload, {cbor::UintField("group", &a.group, &found), cbor::BoolField("end", &a.end)}));
  if (!found) return Missing("group answer without \"group\"");
  return a;
}
void SingleResponse::Write(cbor::Writer& w) const {
  w.Key("group").Uint(group);
  if (end) w.Key("end").Bool(true);
}
SMPKIT_SMP_ENCODE(SingleResponse)
size_t SingleResponse::EncodedSize() const {
  return 1 + UintEntrySize("group", group) + (end ? TextSize("end") + 1 : 0);
}

Result<ListResponse> ListResponse::Parse(ConstByteSpan payload) {
  cbor::RawValue groups;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::RawField("groups", &groups, &found)}));
  if (!found) return Missing("group list without \"groups\"");
  return ListResponse{groups.encoded};
}

Result<uint64_t> ListResponse::ParseId(ConstByteSpan item) {
  cbor::Reader r(item);
  SMPKIT_ASSIGN_OR_RETURN(cbor::Item id, r.Next());
  if (id.type != cbor::Type::kUint)
    return Error::Static(Errc::kTypeMismatch, "a group id is not a uint");
  return id.raw;
}

Result<DetailsEntry> DetailsEntry::Parse(ConstByteSpan entry) {
  DetailsEntry d;
  std::string_view name;
  uint64_t handlers = 0;
  bool has_group = false, has_name = false, has_handlers = false;
  SMPKIT_TRY(cbor::DecodeMap(entry, {cbor::UintField("group", &d.group, &has_group),
                                     cbor::TextField("name", &name, &has_name),
                                     cbor::UintField("handlers", &handlers, &has_handlers)}));
  if (!has_group) return Missing("group details entry without \"group\"");
  if (has_name) d.name = name;
  if (has_handlers) d.handlers = handlers;
  return d;
}

void DetailsEntry::Write(cbor::Writer& w) const {
  w.BeginMap().Key("group").Uint(group);
  if (name) w.Key("name").Text(*name);
  if (handlers) w.Key("handlers").Uint(*handlers);
  w.End();
}

Result<DetailsResponse> DetailsResponse::Parse(ConstByteSpan payload) {
  cbor::RawValue groups;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::RawField("groups", &groups, &found)}));
  if (!found) return Missing("group details without \"groups\"");
  return DetailsResponse{groups.encoded};
}

}  // namespace enumeration

#undef SMPKIT_SMP_ENCODE

}  // namespace smpkit::smp
