#pragma once
// The image upload request (group 1, command 1, write), one type for both ends: the device
// parses it as Zephyr's img_mgmt_upload does, the client encodes and sizes it (the exact size
// decides how much image data fits a packet). smp-protocol.md §6.5.3:
//   {"image": uint?, "len": uint?, "off": uint, "sha": bstr?, "upgrade": bool?, "data": bstr}
// "len" and "sha" come with the first chunk (off 0), later chunks carry "off" and "data".

#include <cstddef>
#include <cstdint>
#include <optional>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::smp::img {

struct UploadRequest {
  std::optional<uint64_t> image;  // absent: image 0
  std::optional<uint64_t> len;    // the whole image's size (first chunk)
  std::optional<uint64_t> off;    // required by the device (IMG_MGMT_ERR_INVALID_OFFSET)
  ConstByteSpan sha;              // empty: absent; the client's hash of the whole image
  bool upgrade = false;           // only newer images (sent only when true)
  ConstByteSpan data;

  // Zephyr's decoding: the keys in any order, unknown keys skipped, a known key of the wrong
  // type or twice is an error (the device answers MGMT_ERR_EINVAL). The spans point into
  // `payload`. Errors: those of cbor::DecodeMap.
  static Result<UploadRequest> Parse(ConstByteSpan payload);
  // A definite-length map in the order image, len, off, sha, upgrade, data (the present ones).
  // Returns the bytes written. Errors: kNoSpace when `out` is too small.
  Result<size_t> Encode(ByteSpan out) const;
  // What Encode writes, without writing it.
  size_t EncodedSize() const;
};

// The most image data a request of `base` (data empty) may carry within `limit` bytes: a
// longer bstr takes a longer head (1, 2, 3 or 5 bytes). 0 when not even one byte fits.
size_t UploadDataFit(const UploadRequest& base, size_t limit);

}  // namespace smpkit::smp::img
