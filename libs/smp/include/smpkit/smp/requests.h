#pragma once
// Typed requests of the OS and image groups, one type for both ends: the device's handlers
// parse them as Zephyr's do, the client encodes them (smp-protocol.md §6). The image upload
// request, which the client must also size exactly, is in img_upload.h.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::smp {

namespace os {

// OS echo (group 0, command 0): {"d": tstr}.
struct EchoRequest {
  std::string_view d;  // points into the parsed payload
  // Errors: the CBOR reader's; a missing "d" reads as empty (the device answers "").
  static Result<EchoRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// OS reset (group 0, command 5): {"force": bool?, "boot_mode": uint?} (boot_mode: Zephyr 4.2).
struct ResetRequest {
  bool force = false;                 // sent only when true
  std::optional<uint64_t> boot_mode;  // sent only when set
  static Result<ResetRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// OS date-time write (group 0, command 4, write): {"datetime": tstr} (ISO 8601, as Zephyr's
// os_mgmt parses it).
struct DateTimeWriteRequest {
  std::optional<std::string_view> datetime;  // points into the parsed payload
  static Result<DateTimeWriteRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// OS info (group 0, command 7, read): {"format": tstr?} (absent or empty: "s").
struct InfoRequest {
  std::string_view format;  // points into the parsed payload
  static Result<InfoRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// OS bootloader info (group 0, command 8, read): {"query": tstr?}.
struct BootloaderInfoRequest {
  std::optional<std::string_view> query;  // points into the parsed payload
  static Result<BootloaderInfoRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

}  // namespace os

namespace img {

// Image state write (group 1, command 0): {"hash": bstr?, "confirm": bool?}: test the image
// with that hash, or confirm it (without a hash: the running image).
struct StateWriteRequest {
  std::optional<ConstByteSpan> hash;  // points into the parsed payload
  bool confirm = false;
  static Result<StateWriteRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// Image erase (group 1, command 5): {"slot": uint?} (absent: the slot not running).
struct EraseRequest {
  std::optional<uint64_t> slot;
  static Result<EraseRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

}  // namespace img

}  // namespace smpkit::smp
