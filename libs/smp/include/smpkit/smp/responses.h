#pragma once
// Typed answers of fixed shape, one type for both ends: the device's groups write them, the
// client parses them (smp-protocol.md §6). The answers that are lists the device streams from
// its own state (image state, slot info, task and statistics lists, group details, hash
// types) are written entry by entry on the device and decoded by the client library.
//
// Parse: the keys in any order, unknown keys skipped (a device may add "rc" or "err"), a
// known key of the wrong type or twice is an error; a required key missing is kCorrupt
// naming it. Views point into the payload. Write: the entries into the map the server opened
// (after any legacy "rc"). Encode: the same as a whole definite map; kNoSpace when `out` is
// too small. EncodedSize: what Encode writes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::cbor {
class Writer;
}

namespace smpkit::smp {

#define SMPKIT_SMP_RESPONSE(T)                   \
  static Result<T> Parse(ConstByteSpan payload); \
  void Write(cbor::Writer& w) const;             \
  Result<size_t> Encode(ByteSpan out) const;     \
  size_t EncodedSize() const

namespace os {

// OS echo: {"r": tstr}.
struct EchoResponse {
  std::string_view r;
  SMPKIT_SMP_RESPONSE(EchoResponse);
};

// MCUmgr parameters: {"buf_size": uint, "buf_count": uint}.
struct ParamsResponse {
  uint64_t buf_size = 0;
  uint64_t buf_count = 0;
  SMPKIT_SMP_RESPONSE(ParamsResponse);
};

// OS info: {"output": tstr}.
struct InfoResponse {
  std::string_view output;
  SMPKIT_SMP_RESPONSE(InfoResponse);
};

}  // namespace os

namespace img {

// Image upload: {"off": uint, "match": bool?} (match: with CONFIG_IMG_ENABLE_IMAGE_CHECK,
// once the image is complete).
struct UploadResponse {
  uint64_t off = 0;
  std::optional<bool> match;
  SMPKIT_SMP_RESPONSE(UploadResponse);
};

}  // namespace img

namespace settings {

// Settings read: {"val": bstr, "max_size": uint?} (max_size: the device's limit, when the
// request asked for more).
struct ReadResponse {
  ConstByteSpan val;
  std::optional<uint64_t> max_size;
  SMPKIT_SMP_RESPONSE(ReadResponse);
};

}  // namespace settings

namespace fs {

// File download: {"off": uint, "data": bstr, "len": uint (the file's size, at offset 0)}.
struct DownloadResponse {
  uint64_t off = 0;
  ConstByteSpan data;
  std::optional<uint64_t> len;
  SMPKIT_SMP_RESPONSE(DownloadResponse);
};

// File upload: {"off": uint} (the bytes the file now holds).
struct UploadResponse {
  uint64_t off = 0;
  SMPKIT_SMP_RESPONSE(UploadResponse);
};

// File status: {"len": uint}.
struct StatusResponse {
  uint64_t len = 0;
  SMPKIT_SMP_RESPONSE(StatusResponse);
};

// File hash/checksum: {"type": tstr, "off": uint (when not 0), "len": uint (bytes hashed),
// "output": uint (a 32-bit checksum) | bstr (a digest)}.
struct HashResponse {
  std::string_view type;
  uint64_t off = 0;
  uint64_t len = 0;
  std::optional<uint32_t> checksum;  // the output as a number (crc32)
  ConstByteSpan digest;              // the output as bytes, when checksum is absent
  SMPKIT_SMP_RESPONSE(HashResponse);
};

}  // namespace fs

namespace shell {

// Shell command execute: {"o": tstr, "ret": int}; with
// CONFIG_MCUMGR_GRP_SHELL_LEGACY_RC_RETURN_CODE the return value comes as "rc" instead.
struct ExecResponse {
  std::string_view o;
  int64_t ret = 0;
  bool legacy_rc = false;  // written (and parsed) as "rc"
  SMPKIT_SMP_RESPONSE(ExecResponse);
};

}  // namespace shell

namespace enumeration {

// Enumeration count: {"count": uint}.
struct CountResponse {
  uint64_t count = 0;
  SMPKIT_SMP_RESPONSE(CountResponse);
};

// Enumeration single: {"group": uint, "end": bool?} (end: true at the last group).
struct SingleResponse {
  uint64_t group = 0;
  bool end = false;  // sent only when true
  SMPKIT_SMP_RESPONSE(SingleResponse);
};

}  // namespace enumeration

#undef SMPKIT_SMP_RESPONSE

}  // namespace smpkit::smp
