#pragma once
// SMP over a serial console (smp-protocol.md §8.3): each packet P travels as
// base64(BE16(len(P) + 2) || P || BE16(CRC16/XMODEM(P))) cut into newline-terminated lines,
// the first marked 0x06 0x09, the others 0x04 0x14, each at most 127 bytes long.
//
// Sans-I/O and heap-free: the encoder writes into caller spans, the decoder decodes into a
// caller span (or the fixed buffer of SerialDecoderBuffer<N>).

#include <array>
#include <cstddef>
#include <cstdint>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/transport/packet_result.h"

namespace smpkit::transport {

inline constexpr uint8_t kSerialPacketMarker[2] = {0x06, 0x09};
inline constexpr uint8_t kSerialContinuationMarker[2] = {0x04, 0x14};
// Marker + base64 text + '\n'; the MCUmgr convention that Zephyr and MCUboot rely on.
inline constexpr size_t kSerialMaxLineSize = 127;
// The length prefix is 16 bits and counts P plus its 2-byte CRC.
inline constexpr size_t kSerialMaxPacketSize = 0xFFFF - 2;

// Encodes one SMP packet into console lines, split exactly as Zephyr's encoder
// (mcumgr_serial_tx_pkt) does: the first line carries at most 93 raw body bytes, later lines at
// most 90, every line except the last holds whole base64 quads, and the 2 CRC bytes always share
// the last line (when they would not fit, the line ends 1-3 data bytes early and those bytes
// open one more line).
class SerialEncoder {
 public:
  // Starts encoding `packet`, which must stay alive and unchanged while lines are taken.
  // Errors: kInvalidArgument if the packet is empty or longer than kSerialMaxPacketSize.
  static Result<SerialEncoder> Create(ConstByteSpan packet);

  // Total bytes on the wire (all lines, markers and newlines) for a packet of this size.
  // Returns 0 for sizes that cannot be encoded (0 or above kSerialMaxPacketSize).
  static size_t EncodedSize(size_t packet_size);

  // Encodes the whole packet into `out`; returns the number of bytes written
  // (== EncodedSize(packet.size())).
  // Errors: kInvalidArgument as Create; kNoSpace if `out` is smaller than EncodedSize().
  static Result<size_t> Encode(ConstByteSpan packet, ByteSpan out);

  // Writes the next line (marker, base64, '\n'; at most kSerialMaxLineSize bytes) into `out`
  // and returns its length; returns 0 once every line was produced.
  // Errors: kNoSpace if `out` cannot hold the line (nothing is consumed then).
  Result<size_t> NextLine(ByteSpan out);

  bool Done() const { return done_; }

 private:
  explicit SerialEncoder(ConstByteSpan packet);
  uint8_t BodyByte(size_t body_offset) const;

  ConstByteSpan packet_;
  uint16_t crc_ = 0;
  size_t body_offset_ = 0;  // next byte of BE16(len+2) || P || CRC to encode
  bool done_ = false;
};

// Receives console bytes and reassembles SMP packets, as Zephyr's mcumgr_serial_process_frag
// does, but reporting every problem instead of dropping silently:
// * bytes outside SMP lines (logs, shell text, prompts) are skipped; a 0x06 0x09 or
//   0x04 0x14 pair starts SMP capture until the next '\n' (like Zephyr's shell backend, also
//   after text without a newline, e.g. a prompt); a '\r' inside an SMP line is ignored;
// * a 0x06 0x09 line resets any packet in progress and starts a new one;
// * a 0x04 0x14 line with nothing in progress is ignored;
// * a packet is emitted at the end of the line that completes it, once its CRC checked out.
// After an error the partial packet is dropped and decoding resumes with the next marker.
class SerialDecoder {
 public:
  // `buffer` receives P and its CRC: packets up to buffer.size() - 2 bytes are accepted.
  explicit SerialDecoder(ByteSpan buffer) : buffer_(buffer) {}

  SerialDecoder(const SerialDecoder&) = delete;
  SerialDecoder& operator=(const SerialDecoder&) = delete;

  struct FeedResult {
    size_t consumed;  // input bytes used, through the one that ended a packet or raised an error
    PacketResult packet;
  };

  // Feeds one byte. Returns the packet at the '\n' that completes it, std::nullopt while
  // more bytes are needed, or an error:
  //   kInvalidArgument  a byte that is not base64 in an SMP line, misplaced '=' padding, a line
  //                     ending inside a base64 quad, a first line without the length prefix;
  //   kCorrupt          a length prefix below 3, more data than the length prefix announces,
  //                     a CRC mismatch;
  //   kNoSpace          a length prefix above the buffer's capacity.
  PacketResult Process(uint8_t byte);

  // Feeds bytes until a packet completes or an error occurs (then `consumed` tells where to
  // continue), or all of `data` was used (`packet` holds std::nullopt). Errors as Process().
  FeedResult Feed(ConstByteSpan data);

  // Drops any packet in progress and waits for a new line (e.g. after a port reopen).
  void Reset();

  // Largest packet (P, without length prefix and CRC) this decoder accepts.
  size_t max_packet_size() const { return buffer_.size() < 2 ? 0 : buffer_.size() - 2; }
  // True between the first line of a packet and the line that completes it.
  bool in_progress() const { return in_progress_; }

 private:
  enum class State : uint8_t { kText, kMarkerPacket, kMarkerContinuation, kLine };
  enum class Step : uint8_t { kMore, kPacket, kError };

  Step Consume(uint8_t byte);
  Step StartLine(bool first);
  Step EndLine();
  Step DecodeQuad();
  Step PushBodyByte(uint8_t b);
  Step Fail(Error error);

  ByteSpan buffer_;
  State state_ = State::kText;
  bool in_progress_ = false;
  bool line_padded_ = false;  // the current line already ended a quad with '=' padding
  uint8_t quad_len_ = 0;
  char quad_[4] = {};
  size_t body_len_ = 0;     // decoded bytes of BE16(len) || P || CRC so far
  size_t expected_ = 0;     // the length prefix: len(P) + 2
  size_t packet_size_ = 0;  // size of the packet last emitted
  Error error_;
};

// A SerialDecoder that owns a buffer for packets of up to kMaxPacketSize bytes.
template <size_t kMaxPacketSize>
class SerialDecoderBuffer : public SerialDecoder {
 public:
  static_assert(kMaxPacketSize >= 1 && kMaxPacketSize <= kSerialMaxPacketSize);
  SerialDecoderBuffer() : SerialDecoder(storage_) {}

 private:
  std::array<uint8_t, kMaxPacketSize + 2> storage_{};
};

}  // namespace smpkit::transport
