#pragma once
// Helpers shared by the mgmt tests: a sink that records responses (hex from smpkit/testing).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smpkit/smp/frame_collector.h"
#include "smpkit/smp/server.h"
#include "smpkit/testing/hex.h"

namespace smpkit::testing {

using RecordingSink = smp::FrameCollector;

// The frames as hex, separated by spaces.
inline std::string JoinedHex(const RecordingSink& sink) {
  std::string s;
  for (const auto& f : sink.frames) {
    if (!s.empty()) s += ' ';
    s += ToHex(f);
  }
  return s;
}

// A response frame as hex: the 8-byte header (op/version byte, group, seq, id; the length
// field from the payload) and the hand-written CBOR payload.
inline std::string ResponseHex(uint8_t op_ver, uint16_t group, uint8_t seq, uint8_t id,
                               std::string_view payload_hex) {
  const auto payload = FromHex(payload_hex);
  std::vector<uint8_t> f = {op_ver,
                            0,
                            static_cast<uint8_t>(payload.size() >> 8),
                            static_cast<uint8_t>(payload.size()),
                            static_cast<uint8_t>(group >> 8),
                            static_cast<uint8_t>(group),
                            seq,
                            id};
  f.insert(f.end(), payload.begin(), payload.end());
  return ToHex(f);
}

// Processes one request (hex) through a fresh server over `registry`; the answers as hex.
inline std::string ProcessHex(smp::Registry& registry, const smp::ServerConfig& config,
                              std::string_view request_hex) {
  smp::Server server(registry, config);
  RecordingSink sink;
  std::vector<uint8_t> scratch(config.buf_size);
  server.Process(FromHex(request_hex), scratch, sink);
  return JoinedHex(sink);
}

}  // namespace smpkit::testing
