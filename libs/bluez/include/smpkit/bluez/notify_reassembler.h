#pragma once
// Rebuilds SMP packets from GATT notification values (smp-protocol.md §8.2): notifications
// carry no framing of their own, so the 8-byte SMP header's length field alone says where a
// packet ends. A notification may hold part of a packet, a whole one, or the end of one and
// the start of the next (nothing in the ATT layer forbids a server from packing them), so the
// reassembler treats the values as one byte stream.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::bluez {

// Largest SMP packet: the 8-byte header and a 16-bit payload length.
inline constexpr size_t kMaxSmpPacket = 8 + 65535;

class NotifyReassembler {
 public:
  using PacketFn = std::function<void(ConstByteSpan packet)>;

  // `max_packet`: packets whose header announces more are refused (8..kMaxSmpPacket).
  explicit NotifyReassembler(size_t max_packet = kMaxSmpPacket);

  // Feeds one notification value; calls `on_packet` for every packet it completes, in order
  // (the span is valid during the call only). Errors: kNoSpace when a header announces a
  // packet above max_packet; the buffered bytes are then dropped (the stream cannot be
  // resynchronised inside them) and the next notification starts afresh.
  Status Feed(ConstByteSpan value, const PacketFn& on_packet);

  // Drops a partial packet (a disconnect, notifications re-enabled).
  void Reset() { buffer_.clear(); }
  // Bytes of an incomplete packet held.
  size_t pending() const { return buffer_.size(); }

 private:
  size_t max_packet_;
  std::vector<uint8_t> buffer_;
};

}  // namespace smpkit::bluez
