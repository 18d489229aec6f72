#include "smpkit/transport/ble_sar.h"

#include <algorithm>
#include <cstring>

namespace smpkit::transport {

Result<size_t> SmpPacketSize(ConstByteSpan header) {
  if (header.size() < kSmpHeaderSize) {
    return Error::Format(Errc::kTruncated, "SMP header needs %zu bytes, have %zu", kSmpHeaderSize,
                         header.size());
  }
  return kSmpHeaderSize + LoadBe16(&header[2]);
}

// ---------------------------------------------------------------------------------------------
// Fragmenter

Result<BleFragmenter> BleFragmenter::Create(ConstByteSpan packet, size_t att_mtu) {
  if (att_mtu < kAttMinMtu || att_mtu > kAttMaxMtu) {
    return Error::Format(Errc::kInvalidArgument, "ATT MTU %zu outside the valid range %zu..%zu",
                         att_mtu, kAttMinMtu, kAttMaxMtu);
  }
  return BleFragmenter(packet, AttPayloadSize(att_mtu));
}

ConstByteSpan BleFragmenter::Next(size_t max_size) {
  const size_t n = std::min(max_size, packet_.size() - offset_);
  ConstByteSpan out = packet_.subspan(offset_, n);
  offset_ += n;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reassembler

PacketResult BleReassembler::Feed(ConstByteSpan fragment) {
  if (received_ == 0) {
    if (fragment.size() < kSmpHeaderSize) {
      return Error::Format(Errc::kTruncated,
                           "first fragment of an SMP packet has %zu bytes, needs the %zu-byte "
                           "header",
                           fragment.size(), kSmpHeaderSize);
    }
    const size_t total = kSmpHeaderSize + LoadBe16(&fragment[2]);
    if (total > buffer_.size()) {
      return Error::Format(Errc::kNoSpace,
                           "SMP packet of %zu bytes exceeds the reassembly buffer of %zu", total,
                           buffer_.size());
    }
    expected_ = total;
  }
  const size_t missing = expected_ - received_;
  if (fragment.size() > missing) {
    const size_t announced = expected_;
    Reset();
    return Error::Format(Errc::kCorrupt,
                         "fragment of %zu bytes runs %zu bytes past the end of the %zu-byte SMP "
                         "packet (partial packet dropped)",
                         fragment.size(), fragment.size() - missing, announced);
  }
  if (!fragment.empty()) std::memcpy(&buffer_[received_], fragment.data(), fragment.size());
  received_ += fragment.size();
  if (received_ < expected_) return std::optional<ConstByteSpan>();
  const size_t size = received_;
  Reset();
  return std::optional<ConstByteSpan>(ConstByteSpan(buffer_.data(), size));
}

}  // namespace smpkit::transport
