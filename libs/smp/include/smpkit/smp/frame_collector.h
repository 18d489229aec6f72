#pragma once
// A ResponseSink that keeps a copy of every response frame, in order. It allocates, so it is
// for hosts, simulations and tests; a device's own sink sends each frame on as it comes.

#include <cstdint>
#include <vector>

#include "smpkit/smp/server.h"

namespace smpkit::smp {

class FrameCollector final : public ResponseSink {
 public:
  void SendResponse(ConstByteSpan frame) override {
    frames.emplace_back(frame.begin(), frame.end());
  }
  std::vector<std::vector<uint8_t>> frames;
};

}  // namespace smpkit::smp
