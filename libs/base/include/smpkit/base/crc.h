#pragma once
#include <cstdint>

#include "smpkit/base/bytes.h"

namespace smpkit {

// CRC-16/XMODEM: poly 0x1021, init 0, no reflection, no final XOR ("123456789" -> 0x31C3).
uint16_t Crc16Xmodem(ConstByteSpan data, uint16_t crc = 0);

}  // namespace smpkit
