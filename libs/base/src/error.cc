#include "smpkit/base/error.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace smpkit {

std::string_view ErrcName(Errc code) {
  switch (code) {
    case Errc::kOk: return "ok";
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kTruncated: return "truncated";
    case Errc::kNoSpace: return "no space";
    case Errc::kTypeMismatch: return "type mismatch";
    case Errc::kDuplicateKey: return "duplicate key";
    case Errc::kNotFound: return "not found";
    case Errc::kNotSupported: return "not supported";
    case Errc::kBadState: return "bad state";
    case Errc::kCorrupt: return "corrupt";
    case Errc::kIo: return "i/o error";
    case Errc::kTimeout: return "timeout";
    case Errc::kBusy: return "busy";
    case Errc::kAccessDenied: return "access denied";
    case Errc::kRemote: return "remote error";
    case Errc::kCrypto: return "crypto error";
    case Errc::kInternal: return "internal error";
  }
  return "unknown";
}

Error::Error(Errc code, std::string_view message) : code_(code) {
  length_ = static_cast<uint8_t>(std::min(message.size(), kMaxMessage));
  std::memcpy(message_, message.data(), length_);
  message_[length_] = '\0';
}

Error Error::Format(Errc code, const char* fmt, ...) {
  Error e;
  e.code_ = code;
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(e.message_, sizeof(e.message_), fmt, ap);
  va_end(ap);
  e.length_ = static_cast<uint8_t>(n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), kMaxMessage));
  return e;
}

}  // namespace smpkit
