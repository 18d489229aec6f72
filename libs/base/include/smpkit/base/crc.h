#pragma once
#include <cstdint>

#include "smpkit/base/bytes.h"

namespace smpkit {

// CRC-16/XMODEM: poly 0x1021, init 0, no reflection, no final XOR ("123456789" -> 0x31C3).
uint16_t Crc16Xmodem(ConstByteSpan data, uint16_t crc = 0);

// CRC-32/IEEE as zlib's crc32(crc, data) computes it (reflected poly 0xEDB88320, init and
// final XOR 0xFFFFFFFF folded in; "123456789" -> 0xCBF43926), zlib's own code. Incremental:
// Crc32(b, Crc32(a)) == Crc32(a + b). Zephyr's crc32_ieee_update is the same function.
uint32_t Crc32(ConstByteSpan data, uint32_t crc = 0);

}  // namespace smpkit
