// Typed requests of the statistics, settings, file, shell and enumeration groups.

#include "map_codec.h"
#include "smpkit/cbor/reader.h"
#include "smpkit/smp/requests.h"

namespace smpkit::smp {

using detail::BytesSize;
using detail::EncodeMap;
using detail::TextSize;
using detail::UintEntrySize;

namespace {

// The requests that are {"name": tstr} and nothing else.
Result<std::string_view> ParseName(ConstByteSpan payload) {
  std::string_view name;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::TextField("name", &name)}));
  return name;
}

Result<size_t> EncodeName(ByteSpan out, std::string_view name) {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (!name.empty()) w.Key("name").Text(name);
  });
}

size_t NameSize(std::string_view name) {
  return 1 + (name.empty() ? 0 : TextSize("name") + TextSize(name));
}

}  // namespace

namespace stat {

Result<ShowRequest> ShowRequest::Parse(ConstByteSpan payload) {
  std::string_view name;
  bool has = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::TextField("name", &name, &has)}));
  return ShowRequest{has ? std::optional<std::string_view>(name) : std::nullopt};
}

Result<size_t> ShowRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (name) w.Key("name").Text(*name);
  });
}

size_t ShowRequest::EncodedSize() const {
  return 1 + (name ? TextSize("name") + TextSize(*name) : 0);
}

}  // namespace stat

namespace settings {

Result<ReadRequest> ReadRequest::Parse(ConstByteSpan payload) {
  ReadRequest r;
  uint64_t max = 0;
  bool has_max = false;
  SMPKIT_TRY(cbor::DecodeMap(
      payload, {cbor::TextField("name", &r.name), cbor::UintField("max_size", &max, &has_max)}));
  if (has_max) r.max_size = max;
  return r;
}

Result<size_t> ReadRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (!name.empty()) w.Key("name").Text(name);
    if (max_size) w.Key("max_size").Uint(*max_size);
  });
}

size_t ReadRequest::EncodedSize() const {
  return NameSize(name) + (max_size ? UintEntrySize("max_size", *max_size) : 0);
}

Result<WriteRequest> WriteRequest::Parse(ConstByteSpan payload) {
  WriteRequest r;
  SMPKIT_TRY(cbor::DecodeMap(payload,
                             {cbor::TextField("name", &r.name), cbor::BytesField("val", &r.val)}));
  return r;
}

Result<size_t> WriteRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (!name.empty()) w.Key("name").Text(name);
    w.Key("val").Bytes(val);
  });
}

size_t WriteRequest::EncodedSize() const {
  return NameSize(name) + TextSize("val") + BytesSize(val);
}

Result<DeleteRequest> DeleteRequest::Parse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto name, ParseName(payload));
  return DeleteRequest{name};
}

Result<size_t> DeleteRequest::Encode(ByteSpan out) const { return EncodeName(out, name); }

size_t DeleteRequest::EncodedSize() const { return NameSize(name); }

}  // namespace settings

namespace fs {

Result<DownloadRequest> DownloadRequest::Parse(ConstByteSpan payload) {
  DownloadRequest r;
  uint64_t off = 0;
  bool has_off = false;
  SMPKIT_TRY(cbor::DecodeMap(
      payload, {cbor::UintField("off", &off, &has_off), cbor::TextField("name", &r.name)}));
  if (has_off) r.off = off;
  return r;
}

Result<size_t> DownloadRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (off) w.Key("off").Uint(*off);
    if (!name.empty()) w.Key("name").Text(name);
  });
}

size_t DownloadRequest::EncodedSize() const {
  return 1 + (off ? UintEntrySize("off", *off) : 0) +
         (name.empty() ? 0 : TextSize("name") + TextSize(name));
}

Result<UploadRequest> UploadRequest::Parse(ConstByteSpan payload) {
  UploadRequest r;
  uint64_t off = 0, len = 0;
  bool has_off = false, has_len = false;
  SMPKIT_TRY(cbor::DecodeMap(
      payload, {cbor::UintField("off", &off, &has_off), cbor::TextField("name", &r.name),
                cbor::BytesField("data", &r.data), cbor::UintField("len", &len, &has_len)}));
  if (has_off) r.off = off;
  if (has_len) r.len = len;
  return r;
}

Result<size_t> UploadRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (off) w.Key("off").Uint(*off);
    w.Key("data").Bytes(data);
    if (!name.empty()) w.Key("name").Text(name);
    if (len) w.Key("len").Uint(*len);
  });
}

size_t UploadRequest::EncodedSize() const {
  return 1 + (off ? UintEntrySize("off", *off) : 0) + TextSize("data") + BytesSize(data) +
         (name.empty() ? 0 : TextSize("name") + TextSize(name)) +
         (len ? UintEntrySize("len", *len) : 0);
}

size_t UploadDataFit(const UploadRequest& base, size_t limit) {
  return detail::DataFit(base, limit);
}

Result<StatusRequest> StatusRequest::Parse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto name, ParseName(payload));
  return StatusRequest{name};
}

Result<size_t> StatusRequest::Encode(ByteSpan out) const { return EncodeName(out, name); }

size_t StatusRequest::EncodedSize() const { return NameSize(name); }

Result<HashRequest> HashRequest::Parse(ConstByteSpan payload) {
  HashRequest r;
  uint64_t len = 0;
  bool has_len = false;
  SMPKIT_TRY(cbor::DecodeMap(
      payload, {cbor::TextField("name", &r.name), cbor::TextField("type", &r.type),
                cbor::UintField("off", &r.off), cbor::UintField("len", &len, &has_len)}));
  if (has_len) r.len = len;
  return r;
}

Result<size_t> HashRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (!name.empty()) w.Key("name").Text(name);
    if (!type.empty()) w.Key("type").Text(type);
    if (off != 0) w.Key("off").Uint(off);
    if (len) w.Key("len").Uint(*len);
  });
}

size_t HashRequest::EncodedSize() const {
  return 1 + (name.empty() ? 0 : TextSize("name") + TextSize(name)) +
         (type.empty() ? 0 : TextSize("type") + TextSize(type)) +
         (off != 0 ? UintEntrySize("off", off) : 0) + (len ? UintEntrySize("len", *len) : 0);
}

}  // namespace fs

namespace shell {

Result<ExecRequest> ExecRequest::Parse(ConstByteSpan payload) {
  cbor::Reader rd(payload);
  SMPKIT_ASSIGN_OR_RETURN(cbor::Item head, rd.Next());
  if (head.type != cbor::Type::kMap)
    return Error::Static(Errc::kTypeMismatch, "payload must be a map");
  ExecRequest r;
  bool found = false;
  for (uint64_t i = 0; head.indefinite || i < head.raw; ++i) {
    SMPKIT_ASSIGN_OR_RETURN(cbor::Item key, rd.Next());
    if (key.type == cbor::Type::kBreak && head.indefinite) break;
    if (key.type != cbor::Type::kText) {
      return Error::Static(Errc::kTypeMismatch, "map key must be a text string");
    }
    if (key.text() != "argv" || found) {  // only the first "argv" counts
      SMPKIT_TRY(rd.SkipValue());
      continue;
    }
    found = true;
    SMPKIT_ASSIGN_OR_RETURN(cbor::Item arr, rd.Next());
    if (arr.type != cbor::Type::kArray)
      return Error::Static(Errc::kTypeMismatch, "\"argv\" must be an array");
    const size_t start = rd.position();
    size_t end = start;
    bool ended = false;
    for (uint64_t k = 0; arr.indefinite || k < arr.raw; ++k) {
      SMPKIT_ASSIGN_OR_RETURN(cbor::Item item, rd.Next());
      if (item.type == cbor::Type::kBreak && arr.indefinite) break;
      if (ended || item.type != cbor::Type::kText || !cbor::IsValidUtf8(item.text())) {
        ended = true;  // the line ends at the first element that is not valid text
        SMPKIT_TRY(rd.SkipRest(item));
        continue;
      }
      end = rd.position();
    }
    r.args_ = payload.subspan(start, end - start);
  }
  if (!found) return Error::Static(Errc::kNotFound, "no \"argv\"");
  return r;
}

size_t ExecRequest::NextArg(size_t pos, std::string_view* arg) const {
  cbor::Reader rd(args_.subspan(pos));
  auto item = rd.Next();  // a text element: Parse checked it
  *arg = item.ok() ? item->text() : std::string_view();
  return item.ok() ? pos + rd.position() : args_.size();
}

Result<size_t> ExecRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    w.Key("argv").BeginArray();
    for (std::string_view a : argv) w.Text(a);
    w.End();
  });
}

size_t ExecRequest::EncodedSize() const {
  size_t n = 1 + TextSize("argv") + cbor::HeadSize(argv.size());
  for (std::string_view a : argv) n += TextSize(a);
  return n;
}

}  // namespace shell

namespace enumeration {

Result<SingleRequest> SingleRequest::Parse(ConstByteSpan payload) {
  SingleRequest r;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::UintField("index", &r.index)}));
  return r;
}

Result<size_t> SingleRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) { w.Key("index").Uint(index); });
}

size_t SingleRequest::EncodedSize() const { return 1 + UintEntrySize("index", index); }

Result<DetailsRequest> DetailsRequest::Parse(ConstByteSpan payload) {
  DetailsRequest r;
  cbor::RawValue groups;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::RawField("groups", &groups, &r.has_groups_)}));
  r.groups_encoded_ = groups.encoded;
  return r;
}

Result<size_t> DetailsRequest::CountGroups() const {
  if (!has_groups_) return size_t{0};
  size_t count = 0;
  SMPKIT_TRY(cbor::ForEachItem(groups_encoded_, "\"groups\"", [&](ConstByteSpan) {
    ++count;
    return Status();
  }));
  return count;
}

Result<uint64_t> DetailsRequest::GroupAt(size_t i) const {
  cbor::Reader rd(groups_encoded_);
  SMPKIT_ASSIGN_OR_RETURN(cbor::Item head, rd.Next());
  if (head.type != cbor::Type::kArray) {
    return Error::Static(Errc::kTypeMismatch, "\"groups\" must be an array");
  }
  for (size_t k = 0; k < i; ++k) SMPKIT_TRY(rd.SkipValue());
  SMPKIT_ASSIGN_OR_RETURN(cbor::Item item, rd.Next());
  if (item.type != cbor::Type::kUint)
    return Error::Static(Errc::kTypeMismatch, "a group id must be a uint");
  if (item.raw > 0xffffffffu)
    return Error::Static(Errc::kInvalidArgument, "a group id above 32 bits");
  return item.raw;
}

Result<size_t> DetailsRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (groups.empty()) return;
    w.Key("groups").BeginArray();
    for (uint16_t g : groups) w.Uint(g);
    w.End();
  });
}

size_t DetailsRequest::EncodedSize() const {
  if (groups.empty()) return 1;
  size_t n = 1 + TextSize("groups") + cbor::HeadSize(groups.size());
  for (uint16_t g : groups) n += cbor::HeadSize(g);
  return n;
}

}  // namespace enumeration

}  // namespace smpkit::smp
