#pragma once
// SMP over BLE GATT (smp-protocol.md §8.2): no extra framing, an SMP packet is split across
// ATT payloads (Write Without Response or notifications) of at most ATT_MTU - 3 bytes, and the
// receiver reassembles it by the length field of the 8-byte SMP header.
//
// Sans-I/O and heap-free: the fragmenter hands out views into the caller's packet, the
// reassembler collects into a caller span (or the fixed buffer of BleReassemblerBuffer<N>).

#include <array>
#include <cstddef>
#include <cstdint>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/transport/packet_result.h"

namespace smpkit::transport {

inline constexpr size_t kSmpHeaderSize = 8;
inline constexpr size_t kAttHeaderSize = 3;  // opcode + attribute handle
inline constexpr size_t kAttMinMtu = 23;
inline constexpr size_t kAttMaxMtu = 517;

// Largest ATT write/notification payload for an ATT MTU.
constexpr size_t AttPayloadSize(size_t att_mtu) {
  return att_mtu > kAttHeaderSize ? att_mtu - kAttHeaderSize : 0;
}

// Total size of the SMP packet whose header starts at `header` (8 + BE16 length at bytes 2..3).
// Errors: kTruncated if fewer than 8 bytes are given.
Result<size_t> SmpPacketSize(ConstByteSpan header);

// Splits one SMP packet into ATT payloads, front to back, without copying.
//   auto frag = BleFragmenter::Create(packet, mtu);
//   while (!frag->Done()) Send(frag->Next());
class BleFragmenter {
 public:
  // `packet` must stay alive while fragments are taken.
  // Errors: kInvalidArgument if att_mtu is outside [kAttMinMtu, kAttMaxMtu].
  static Result<BleFragmenter> Create(ConstByteSpan packet, size_t att_mtu);

  // The next fragment of at most ATT_MTU - 3 bytes; empty once Done().
  ConstByteSpan Next() { return Next(max_fragment_); }
  // The next fragment of at most `max_size` bytes (a server halving its chunk size when it runs
  // out of buffers, as Zephyr does); empty once Done() or for max_size 0.
  ConstByteSpan Next(size_t max_size);

  bool Done() const { return offset_ == packet_.size(); }
  size_t max_fragment() const { return max_fragment_; }
  // Number of fragments Next() yields for the whole packet.
  size_t FragmentCount() const { return (packet_.size() + max_fragment_ - 1) / max_fragment_; }

 private:
  BleFragmenter(ConstByteSpan packet, size_t max_fragment)
      : packet_(packet), max_fragment_(max_fragment) {}

  ConstByteSpan packet_;
  size_t max_fragment_;
  size_t offset_ = 0;
};

// Reassembles SMP packets from ATT payloads with Zephyr's rules (smp_reassembly.c): the first
// fragment of a packet must carry the whole 8-byte header, the header's length says where the
// packet ends, a fragment may not carry bytes beyond that end, and the packet must fit the
// buffer. Any violation drops the partial packet; the next fragment starts a new one.
class BleReassembler {
 public:
  explicit BleReassembler(ByteSpan buffer) : buffer_(buffer) {}

  BleReassembler(const BleReassembler&) = delete;
  BleReassembler& operator=(const BleReassembler&) = delete;

  // Feeds one ATT payload. Returns the completed packet (a view into the buffer, valid until
  // the next Feed or Reset), std::nullopt while more fragments are needed, or an error:
  //   kTruncated        first fragment shorter than the 8-byte SMP header;
  //   kNoSpace          8 + header length exceeds the buffer;
  //   kCorrupt          the fragment carries bytes beyond the end of the packet.
  // An empty fragment in the middle of a packet changes nothing.
  PacketResult Feed(ConstByteSpan fragment);

  // Drops a partial packet (disconnect, notifications disabled).
  void Reset() {
    received_ = 0;
    expected_ = 0;
  }

  bool in_progress() const { return received_ != 0; }
  size_t received() const { return received_; }
  // Size of the packet being collected (0 when none is in progress).
  size_t expected() const { return expected_; }
  size_t capacity() const { return buffer_.size(); }

 private:
  ByteSpan buffer_;
  size_t received_ = 0;
  size_t expected_ = 0;
};

// A BleReassembler that owns a buffer for packets of up to kCapacity bytes (header included),
// i.e. Zephyr's CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE.
template <size_t kCapacity>
class BleReassemblerBuffer : public BleReassembler {
 public:
  static_assert(kCapacity >= kSmpHeaderSize);
  BleReassemblerBuffer() : BleReassembler(storage_) {}

 private:
  std::array<uint8_t, kCapacity> storage_{};
};

}  // namespace smpkit::transport
