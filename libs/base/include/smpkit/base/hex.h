#pragma once
// Hex text for bytes, both ways (lower-case digits out; either case in).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit {

// "0a1b..." for the first `max_bytes` bytes.
std::string HexEncode(ConstByteSpan bytes,
                      size_t max_bytes = std::numeric_limits<size_t>::max());

// The bytes of `text`, two hex digits each. With `skip_whitespace`, spaces, tabs and line
// breaks between digit pairs are ignored (golden data written for people). Errors
// (kInvalidArgument): an odd number of digits, or a character that is not a hex digit (its
// position named).
Result<std::vector<uint8_t>> HexDecode(std::string_view text, bool skip_whitespace = false);

}  // namespace smpkit
