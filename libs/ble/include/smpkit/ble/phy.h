#pragma once
// Air-time arithmetic of LE link-layer data PDUs (Core spec Vol 6 Part B 2.1, 4.1.2).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smpkit/sim/time.h"

namespace smpkit::ble {

enum class Phy : uint8_t { k1M, k2M, kCodedS2, kCodedS8 };

std::string_view PhyName(Phy phy);

inline constexpr sim::Duration kTifs = std::chrono::microseconds(150);  // inter-frame space
inline constexpr size_t kMicSize = 4;           // added to non-empty PDUs on encrypted links
inline constexpr uint16_t kMinDataLength = 27;  // LL payload octets
inline constexpr uint16_t kMaxDataLength = 251;

// On-air time of one data PDU carrying `payload` octets (header, CRC, preamble and access
// address included; the MIC too when `encrypted` and the payload is not empty).
sim::Duration PduAirTime(Phy phy, size_t payload, bool encrypted);

}  // namespace smpkit::ble
