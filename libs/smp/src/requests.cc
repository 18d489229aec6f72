#include "smpkit/smp/requests.h"

#include "map_codec.h"
#include "smpkit/cbor/reader.h"

namespace smpkit::smp {

using detail::EncodeMap;

namespace {

size_t Key(std::string_view k) { return detail::TextSize(k); }

}  // namespace

namespace os {

Result<EchoRequest> EchoRequest::Parse(ConstByteSpan payload) {
  EchoRequest r;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::TextField("d", &r.d)}));
  return r;
}

Result<size_t> EchoRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) { w.Key("d").Text(d); });
}

size_t EchoRequest::EncodedSize() const {
  return 1 + Key("d") + cbor::HeadSize(d.size()) + d.size();
}

Result<ResetRequest> ResetRequest::Parse(ConstByteSpan payload) {
  ResetRequest r;
  uint64_t mode = 0;
  bool has_mode = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::BoolField("force", &r.force),
                                       cbor::UintField("boot_mode", &mode, &has_mode)}));
  if (has_mode) r.boot_mode = mode;
  return r;
}

Result<size_t> ResetRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (force) w.Key("force").Bool(true);
    if (boot_mode) w.Key("boot_mode").Uint(*boot_mode);
  });
}

size_t ResetRequest::EncodedSize() const {
  return 1 + (force ? Key("force") + 1 : 0) +
         (boot_mode ? Key("boot_mode") + cbor::HeadSize(*boot_mode) : 0);
}

namespace {

// The two requests that are a map of one optional text entry share their wire form.
Result<std::optional<std::string_view>> ParseOptionalText(ConstByteSpan payload,
                                                          std::string_view key) {
  std::string_view v;
  bool has = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::TextField(key, &v, &has)}));
  return has ? std::optional<std::string_view>(v) : std::nullopt;
}

Result<size_t> EncodeOptionalText(ByteSpan out, std::string_view key,
                                  const std::optional<std::string_view>& v) {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (v) w.Key(key).Text(*v);
  });
}

size_t OptionalTextSize(std::string_view key, const std::optional<std::string_view>& v) {
  return 1 + (v ? Key(key) + cbor::HeadSize(v->size()) + v->size() : 0);
}

}  // namespace

Result<DateTimeWriteRequest> DateTimeWriteRequest::Parse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto v, ParseOptionalText(payload, "datetime"));
  return DateTimeWriteRequest{v};
}

Result<size_t> DateTimeWriteRequest::Encode(ByteSpan out) const {
  return EncodeOptionalText(out, "datetime", datetime);
}

size_t DateTimeWriteRequest::EncodedSize() const { return OptionalTextSize("datetime", datetime); }

Result<InfoRequest> InfoRequest::Parse(ConstByteSpan payload) {
  InfoRequest r;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::TextField("format", &r.format)}));
  return r;
}

Result<size_t> InfoRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) { w.Key("format").Text(format); });
}

size_t InfoRequest::EncodedSize() const {
  return 1 + Key("format") + cbor::HeadSize(format.size()) + format.size();
}

Result<BootloaderInfoRequest> BootloaderInfoRequest::Parse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto v, ParseOptionalText(payload, "query"));
  return BootloaderInfoRequest{v};
}

Result<size_t> BootloaderInfoRequest::Encode(ByteSpan out) const {
  return EncodeOptionalText(out, "query", query);
}

size_t BootloaderInfoRequest::EncodedSize() const { return OptionalTextSize("query", query); }

}  // namespace os

namespace img {

Result<StateWriteRequest> StateWriteRequest::Parse(ConstByteSpan payload) {
  StateWriteRequest r;
  ConstByteSpan hash;
  bool has_hash = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::BytesField("hash", &hash, &has_hash),
                                       cbor::BoolField("confirm", &r.confirm)}));
  if (has_hash) r.hash = hash;
  return r;
}

Result<size_t> StateWriteRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (hash) w.Key("hash").Bytes(*hash);
    w.Key("confirm").Bool(confirm);
  });
}

size_t StateWriteRequest::EncodedSize() const {
  return 1 + (hash ? Key("hash") + cbor::HeadSize(hash->size()) + hash->size() : 0) +
         Key("confirm") + 1;
}

Result<EraseRequest> EraseRequest::Parse(ConstByteSpan payload) {
  EraseRequest r;
  uint64_t slot = 0;
  bool has_slot = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::UintField("slot", &slot, &has_slot)}));
  if (has_slot) r.slot = slot;
  return r;
}

Result<size_t> EraseRequest::Encode(ByteSpan out) const {
  return EncodeMap(out, [&](cbor::Writer& w) {
    if (slot) w.Key("slot").Uint(*slot);
  });
}

size_t EraseRequest::EncodedSize() const {
  return 1 + (slot ? Key("slot") + cbor::HeadSize(*slot) : 0);
}

}  // namespace img

}  // namespace smpkit::smp
