#include "smpkit/ble/phy.h"

namespace smpkit::ble {

std::string_view PhyName(Phy phy) {
  switch (phy) {
    case Phy::k1M:
      return "1M";
    case Phy::k2M:
      return "2M";
    case Phy::kCodedS2:
      return "Coded S2";
    case Phy::kCodedS8:
      return "Coded S8";
  }
  return "?";
}

sim::Duration PduAirTime(Phy phy, size_t payload, bool encrypted) {
  const int64_t body = static_cast<int64_t>(payload + (encrypted && payload > 0 ? kMicSize : 0));
  // header (2) + payload (+MIC) + CRC (3) octets, plus preamble and access address (4).
  switch (phy) {
    case Phy::k1M:  // 1 octet preamble, 8 us per octet
      return std::chrono::microseconds((1 + 4 + 2 + body + 3) * 8);
    case Phy::k2M:  // 2 octet preamble, 4 us per octet
      return std::chrono::microseconds((2 + 4 + 2 + body + 3) * 4);
    case Phy::kCodedS2:
    case Phy::kCodedS8: {
      // 80 us preamble; access address (32 bits), CI (2) and TERM1 (3) always at S=8;
      // header, payload, CRC and TERM2 (3 bits) at S=2 or S=8.
      const int64_t s = phy == Phy::kCodedS8 ? 8 : 2;
      const int64_t fec1 = (32 + 2 + 3) * 8;
      const int64_t fec2 = ((2 + body + 3) * 8 + 3) * s;
      return std::chrono::microseconds(80 + fec1 + fec2);
    }
  }
  return {};
}

}  // namespace smpkit::ble
