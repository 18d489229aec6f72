#pragma once
// One error vocabulary for every smpkit library. An Error carries a category (Errc) and a
// human-readable message held inline, so creating one never allocates.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace smpkit {

enum class Errc : uint8_t {
  kOk = 0,
  kInvalidArgument,   // a value is out of range or malformed
  kTruncated,         // input ends before a complete item
  kNoSpace,           // output buffer too small
  kTypeMismatch,      // a CBOR item of the wrong major type
  kDuplicateKey,      // a known map key given twice
  kNotFound,          // no such entry, slot, file, key
  kNotSupported,      // unknown group/command/feature
  kBadState,          // current state forbids the operation
  kCorrupt,           // checksum, magic or length mismatch
  kIo,                // flash or file or socket failure
  kTimeout,           // no answer in time
  kBusy,              // refused because something else holds the resource
  kAccessDenied,      // a hook or lock vetoed it
  kRemote,            // the peer answered with an error (see message)
  kCrypto,            // a signature, key or hash failed
  kInternal,
};

std::string_view ErrcName(Errc code);

class Error {
 public:
  static constexpr size_t kMaxMessage = 191;

  Error() = default;
  Error(Errc code, std::string_view message);
  // printf-style message; truncated to kMaxMessage characters.
  static Error Format(Errc code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  Errc code() const { return code_; }
  std::string_view message() const { return {message_, length_}; }

 private:
  Errc code_ = Errc::kOk;
  uint8_t length_ = 0;
  char message_[kMaxMessage + 1] = {};
};

}  // namespace smpkit
