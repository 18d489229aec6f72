#pragma once
// Shared by the mgmt fuzzers: a sink that aborts on a response frame whose header does not
// parse, whose length field disagrees with its size, or whose op is not a response.
#include <cstdlib>

#include "smpkit/smp/header.h"
#include "smpkit/smp/server.h"

namespace smpkit::fuzzing {

class CheckingSink : public smp::ResponseSink {
 public:
  void SendResponse(ConstByteSpan frame) override {
    auto h = smp::DecodeHeader(frame);
    if (!h.ok() || frame.size() != smp::kHeaderSize + h->length) std::abort();
    if (h->op != 1 && h->op != 3) std::abort();
  }
};

}  // namespace smpkit::fuzzing
