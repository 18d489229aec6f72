#pragma once
// The outcome of feeding transport bytes to a decoder or reassembler.

#include <optional>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::transport {

// A complete SMP packet (a view into the decoder's own buffer, valid until the decoder is fed
// again or reset), std::nullopt while more input is needed, or an Error naming what was wrong.
using PacketResult = Result<std::optional<ConstByteSpan>>;

}  // namespace smpkit::transport
