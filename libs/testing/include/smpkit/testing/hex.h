#pragma once
// Hex golden data in tests: FromHex for literals written by hand or read from the vectors
// (whitespace between pairs allowed); a malformed one is a bug in the test and stops it.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smpkit/base/hex.h"

namespace smpkit::testing {

inline std::vector<uint8_t> FromHex(std::string_view hex) {
  auto r = HexDecode(hex, true);
  if (!r.ok()) {
    std::fprintf(stderr, "FromHex(\"%.*s\"): %.*s\n", static_cast<int>(hex.size()), hex.data(),
                 static_cast<int>(r.error().message().size()), r.error().message().data());
    std::abort();
  }
  return std::move(r).value();
}

inline std::string ToHex(ConstByteSpan bytes) { return HexEncode(bytes); }

}  // namespace smpkit::testing
