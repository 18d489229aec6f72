#pragma once
// Typed requests of every group, one type for both ends: the device's handlers parse them as
// Zephyr's do, the client encodes them (smp-protocol.md §6). The image upload request, which
// the client must also size exactly, is in img_upload.h. Commands without a payload (image
// state read, slot info, task statistics, parameters, stat list, settings commit/load/save,
// fs supported hashes and close, enum count and list) send an empty map.
//
// Parse: the keys in any order, unknown keys skipped, a known key of the wrong type or twice
// is an error (the device answers MGMT_ERR_EINVAL); views point into the payload. Errors:
// those of cbor::DecodeMap. Encode: a definite map of the present fields, in the order
// declared; kNoSpace when `out` is too small. EncodedSize: what Encode writes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
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

namespace stat {

// Statistics show (group 2, command 0, read): {"name": tstr}.
struct ShowRequest {
  std::optional<std::string_view> name;
  static Result<ShowRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

}  // namespace stat

namespace settings {

// Settings read (group 3, command 0, read): {"name": tstr, "max_size": uint?}.
struct ReadRequest {
  std::string_view name;  // empty: absent
  std::optional<uint64_t> max_size;
  static Result<ReadRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// Settings write (group 3, command 0, write): {"name": tstr, "val": bstr}.
struct WriteRequest {
  std::string_view name;  // empty: absent
  ConstByteSpan val;
  static Result<WriteRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// Settings delete (group 3, command 1, write): {"name": tstr}.
struct DeleteRequest {
  std::string_view name;  // empty: absent
  static Result<DeleteRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

}  // namespace settings

namespace fs {

// File download (group 8, command 0, read): {"off": uint, "name": tstr}.
struct DownloadRequest {
  std::optional<uint64_t> off;  // required by the device
  std::string_view name;        // empty: absent
  static Result<DownloadRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// File upload (group 8, command 0, write): {"off": uint, "data": bstr, "name": tstr,
// "len": uint (the file's size, with the first chunk)}.
struct UploadRequest {
  std::optional<uint64_t> off;  // required by the device
  ConstByteSpan data;
  std::string_view name;  // empty: absent
  std::optional<uint64_t> len;
  static Result<UploadRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// The most file data an upload request like `base` (its data ignored) may carry within
// `limit` bytes. 0 when not even one byte fits.
size_t UploadDataFit(const UploadRequest& base, size_t limit);

// File status (group 8, command 1, read): {"name": tstr}.
struct StatusRequest {
  std::string_view name;  // empty: absent
  static Result<StatusRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// File hash/checksum (group 8, command 2, read): {"name": tstr, "type": tstr?, "off": uint?,
// "len": uint?} (type absent: the device's first hash type; off absent: 0; len absent: to
// the end of the file).
struct HashRequest {
  std::string_view name;  // empty: absent
  std::string_view type;  // empty: absent
  uint64_t off = 0;       // 0: absent
  std::optional<uint64_t> len;
  static Result<HashRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

}  // namespace fs

namespace shell {

// Shell command execute (group 9, command 0, write): {"argv": [tstr, ...]}. Parsed as
// Zephyr's shell_mgmt_exec reads it: the map's keys must be text (else an error), the first
// "argv" counts and must be an array; its arguments are the text elements up to the first
// element that is not valid text (the line ends there). Nothing is copied: ForEachArg walks
// the array in the payload.
struct ExecRequest {
  std::span<const std::string_view> argv;  // what Encode sends
  static Result<ExecRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;

  // Calls fn(std::string_view) for each argument of a parsed request; stops early when fn
  // returns false. Returns whether it went through.
  template <typename Fn>
  bool ForEachArg(Fn&& fn) const {
    for (size_t pos = 0; pos < args_.size();) {
      std::string_view arg;
      pos = NextArg(pos, &arg);
      if (!fn(arg)) return false;
    }
    return true;
  }

 private:
  // The parsed arguments: the array's leading text elements, as encoded (validated by Parse).
  ConstByteSpan args_;
  size_t NextArg(size_t pos, std::string_view* arg) const;
};

}  // namespace shell

namespace enumeration {

// Enumeration single (group 10, command 2, read): {"index": uint?} (absent: 0).
struct SingleRequest {
  uint64_t index = 0;
  static Result<SingleRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;
};

// Enumeration details (group 10, command 3, read): {"groups": [uint, ...]?} (absent: every
// group). Parse keeps the array as received: the device counts the entries before it reads
// them as ids, as Zephyr does.
struct DetailsRequest {
  std::span<const uint16_t> groups;  // what Encode sends; empty: absent
  static Result<DetailsRequest> Parse(ConstByteSpan payload);
  Result<size_t> Encode(ByteSpan out) const;
  size_t EncodedSize() const;

  // Of a parsed request: whether "groups" came, and its entries (any type) counted.
  bool has_groups() const { return has_groups_; }
  // Errors: kCorrupt/kTypeMismatch when "groups" is no array or is malformed.
  Result<size_t> CountGroups() const;
  // The id at entry `i` (< CountGroups()). Errors: kTypeMismatch for an entry that is no
  // uint, kInvalidArgument for one above 32 bits.
  Result<uint64_t> GroupAt(size_t i) const;

 private:
  bool has_groups_ = false;
  ConstByteSpan groups_encoded_;
};

}  // namespace enumeration

}  // namespace smpkit::smp
