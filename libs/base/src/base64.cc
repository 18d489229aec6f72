#include "smpkit/base/base64.h"

namespace smpkit {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

Result<size_t> Base64Encode(ConstByteSpan in, std::span<char> out) {
  const size_t need = Base64EncodedSize(in.size());
  if (out.size() < need) {
    return Error::Format(Errc::kNoSpace, "base64 output needs %zu bytes, have %zu", need,
                         out.size());
  }
  size_t o = 0;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8 | in[i + 2];
    out[o++] = kAlphabet[v >> 18 & 63];
    out[o++] = kAlphabet[v >> 12 & 63];
    out[o++] = kAlphabet[v >> 6 & 63];
    out[o++] = kAlphabet[v & 63];
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{in[i]} << 16 | (rest == 2 ? uint32_t{in[i + 1]} << 8 : 0);
    out[o++] = kAlphabet[v >> 18 & 63];
    out[o++] = kAlphabet[v >> 12 & 63];
    out[o++] = rest == 2 ? kAlphabet[v >> 6 & 63] : '=';
    out[o++] = '=';
  }
  return o;
}

Result<size_t> Base64Decode(std::string_view in, ByteSpan out) {
  if (in.size() % 4 != 0) {
    return Error::Format(Errc::kInvalidArgument, "base64 length %zu is not a multiple of 4",
                         in.size());
  }
  size_t o = 0;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int pad = 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=') {
        // Padding only in the last quantum, only in positions 2 and 3, and nothing after it.
        if (!last || k < 2 || (k == 2 && in[i + 3] != '=')) {
          return Error::Format(Errc::kInvalidArgument, "misplaced base64 padding at %zu", i + k);
        }
        ++pad;
        v <<= 6;
        continue;
      }
      const int d = DecodeChar(c);
      if (d < 0 || pad > 0) {
        return Error::Format(Errc::kInvalidArgument, "invalid base64 character 0x%02x at %zu",
                             static_cast<unsigned char>(c), i + k);
      }
      v = v << 6 | static_cast<uint32_t>(d);
    }
    const size_t n = 3 - static_cast<size_t>(pad);
    if (out.size() - o < n) return Error(Errc::kNoSpace, "base64 output buffer too small");
    out[o++] = static_cast<uint8_t>(v >> 16);
    if (n > 1) out[o++] = static_cast<uint8_t>(v >> 8);
    if (n > 2) out[o++] = static_cast<uint8_t>(v);
  }
  return o;
}

}  // namespace smpkit
