#include "smpkit/bluez/notify_reassembler.h"

#include <algorithm>

namespace smpkit::bluez {

namespace {
constexpr size_t kHeader = 8;
}

NotifyReassembler::NotifyReassembler(size_t max_packet)
    : max_packet_(std::clamp(max_packet, kHeader, kMaxSmpPacket)) {}

Status NotifyReassembler::Feed(ConstByteSpan value, const PacketFn& on_packet) {
  buffer_.insert(buffer_.end(), value.begin(), value.end());
  size_t pos = 0;
  Status result = Ok();
  while (buffer_.size() - pos >= kHeader) {
    const size_t total = kHeader + (size_t{buffer_[pos + 2]} << 8 | buffer_[pos + 3]);
    if (total > max_packet_) {
      result = Error::Format(Errc::kNoSpace,
                             "notification announces a %zu-byte SMP packet (at most %zu)", total,
                             max_packet_);
      pos = buffer_.size();
      break;
    }
    if (buffer_.size() - pos < total) break;
    if (on_packet) on_packet(ConstByteSpan(buffer_.data() + pos, total));
    pos += total;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos));
  return result;
}

}  // namespace smpkit::bluez
