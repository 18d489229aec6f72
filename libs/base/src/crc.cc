#include "smpkit/base/crc.h"

#include <zlib.h>

#include <algorithm>

namespace smpkit {

namespace {
constexpr auto MakeTable() {
  struct Table { uint16_t v[256]; } t{};
  for (int i = 0; i < 256; ++i) {
    uint16_t c = static_cast<uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) c = static_cast<uint16_t>((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
    t.v[i] = c;
  }
  return t;
}
constexpr auto kTable = MakeTable();
}  // namespace

uint16_t Crc16Xmodem(ConstByteSpan data, uint16_t crc) {
  for (uint8_t b : data) {
    crc = static_cast<uint16_t>((crc << 8) ^ kTable.v[((crc >> 8) ^ b) & 0xFF]);
  }
  return crc;
}

uint32_t Crc32(ConstByteSpan data, uint32_t crc) {
  // zlib takes lengths as uInt: feed it in pieces below 4 GiB.
  uLong c = crc;
  while (!data.empty()) {
    const size_t n = std::min<size_t>(data.size(), 1u << 30);
    c = crc32(c, data.data(), static_cast<uInt>(n));
    data = data.subspan(n);
  }
  return static_cast<uint32_t>(c);
}

}  // namespace smpkit
