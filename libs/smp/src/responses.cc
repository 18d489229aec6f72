#include "smpkit/smp/responses.h"

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

Error Missing(const char* what) { return Error(Errc::kCorrupt, what); }

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

}  // namespace img

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
  if (len) w.Key("len").Uint(*len);
}
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
    return Error(Errc::kTypeMismatch,
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

}  // namespace enumeration

#undef SMPKIT_SMP_ENCODE

}  // namespace smpkit::smp
