#include "smpkit/base/hex.h"

#include <algorithm>

namespace smpkit {

namespace {

int Nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string HexEncode(ConstByteSpan bytes, size_t max_bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const size_t n = std::min(bytes.size(), max_bytes);
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[bytes[i] >> 4];
    s += kDigits[bytes[i] & 15];
  }
  return s;
}

Result<std::vector<uint8_t>> HexDecode(std::string_view text, bool skip_whitespace) {
  std::vector<uint8_t> out;
  out.reserve(text.size() / 2);
  int high = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (skip_whitespace && high < 0 && Space(c)) continue;
    const int v = Nibble(c);
    if (v < 0) {
      return Error::Format(Errc::kInvalidArgument, "hex: character %zu ('%c') is not a hex digit",
                           i + 1, c >= 0x20 && c < 0x7f ? c : '?');
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) return Error(Errc::kInvalidArgument, "hex: an odd number of hex digits");
  return out;
}

}  // namespace smpkit
