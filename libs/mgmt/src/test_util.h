#pragma once
// Helpers shared by the mgmt tests: hex conversion and a sink that records responses.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smpkit/smp/server.h"

namespace smpkit::testing {

inline std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : hex)
    if (c != ' ' && c != '\n') digits += c;
  for (size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string ToHex(ConstByteSpan b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

class RecordingSink : public smp::ResponseSink {
 public:
  void SendResponse(ConstByteSpan frame) override { frames.emplace_back(frame.begin(), frame.end()); }
  std::string JoinedHex() const {
    std::string s;
    for (const auto& f : frames) {
      if (!s.empty()) s += ' ';
      s += ToHex(f);
    }
    return s;
  }
  std::vector<std::vector<uint8_t>> frames;
};

}  // namespace smpkit::testing
