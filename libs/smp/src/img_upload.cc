#include "smpkit/smp/img_upload.h"

#include "map_codec.h"
#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"

namespace smpkit::smp::img {

using detail::TextSize;

Result<UploadRequest> UploadRequest::Parse(ConstByteSpan payload) {
  UploadRequest r;
  uint64_t image = 0, len = 0, off = 0;
  bool has_image = false, has_len = false, has_off = false;
  SMPKIT_TRY(cbor::DecodeMap(
      payload,
      {cbor::UintField("image", &image, &has_image), cbor::UintField("len", &len, &has_len),
       cbor::UintField("off", &off, &has_off), cbor::BytesField("sha", &r.sha),
       cbor::BytesField("data", &r.data), cbor::BoolField("upgrade", &r.upgrade)}));
  if (has_image) r.image = image;
  if (has_len) r.len = len;
  if (has_off) r.off = off;
  return r;
}

Result<size_t> UploadRequest::Encode(ByteSpan out) const {
  cbor::Writer w(out);
  w.BeginMap();
  if (image) w.Key("image").Uint(*image);
  if (len) w.Key("len").Uint(*len);
  if (off) w.Key("off").Uint(*off);
  if (!sha.empty()) w.Key("sha").Bytes(sha);
  if (upgrade) w.Key("upgrade").Bool(true);
  w.Key("data").Bytes(data);
  w.End();
  SMPKIT_TRY(w.status());
  return w.size();
}

size_t UploadRequest::EncodedSize() const {
  size_t n = 1;  // the definite map's head: at most 6 entries
  if (image) n += TextSize("image") + cbor::HeadSize(*image);
  if (len) n += TextSize("len") + cbor::HeadSize(*len);
  if (off) n += TextSize("off") + cbor::HeadSize(*off);
  if (!sha.empty()) n += TextSize("sha") + cbor::HeadSize(sha.size()) + sha.size();
  if (upgrade) n += TextSize("upgrade") + 1;
  n += TextSize("data") + cbor::HeadSize(data.size()) + data.size();
  return n;
}

size_t UploadDataFit(const UploadRequest& base, size_t limit) {
  return detail::DataFit(base, limit);
}

}  // namespace smpkit::smp::img
