#include "smpkit/transport/serial.h"

#include <algorithm>

#include "smpkit/base/base64.h"
#include "smpkit/base/crc.h"

namespace smpkit::transport {

namespace {

// Raw body bytes per line: 124 base64 characters = 31 quads = 93 bytes. The first line spends
// its first triple on the length prefix and one packet byte; every line then has room for 90
// more bytes, and Zephyr keeps that 90-byte budget for the continuation lines too.
constexpr size_t kLineBudget = (kSerialMaxLineSize - 3) / 4 * 3 - 3;

struct LinePlan {
  size_t body_bytes;  // raw body bytes in this line (length prefix and CRC included)
  bool last;
};

// The split rule, derived from the Zephyr captures and mcumgr_serial_tx_pkt. `remaining` is the
// number of packet bytes not yet encoded (>= 1).
LinePlan PlanLine(size_t remaining, bool first) {
  const size_t lead = first ? 1 : 0;  // the packet byte sharing the length-prefix triple
  const size_t rest = remaining - lead;
  const size_t prefix = first ? 2 : 0;
  if (rest + 2 <= kLineBudget) return {prefix + remaining + 2, true};
  if (rest <= kLineBudget) {
    // Everything but the CRC would fit: end the line at the last whole triple before the final
    // byte, so that the leftover data and the CRC share the next line.
    return {prefix + lead + (rest - 1) / 3 * 3, false};
  }
  return {prefix + lead + kLineBudget, false};
}

constexpr size_t LineSize(size_t body_bytes) { return 2 + Base64EncodedSize(body_bytes) + 1; }

bool IsBase64Char(uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=';
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Encoder

SerialEncoder::SerialEncoder(ConstByteSpan packet) : packet_(packet), crc_(Crc16Xmodem(packet)) {}

Result<SerialEncoder> SerialEncoder::Create(ConstByteSpan packet) {
  if (packet.empty()) return Error(Errc::kInvalidArgument, "cannot frame an empty SMP packet");
  if (packet.size() > kSerialMaxPacketSize) {
    return Error::Format(Errc::kInvalidArgument,
                         "SMP packet of %zu bytes exceeds the serial maximum of %zu", packet.size(),
                         kSerialMaxPacketSize);
  }
  return SerialEncoder(packet);
}

size_t SerialEncoder::EncodedSize(size_t packet_size) {
  if (packet_size == 0 || packet_size > kSerialMaxPacketSize) return 0;
  size_t total = 0;
  size_t remaining = packet_size;
  bool first = true;
  while (true) {
    const LinePlan plan = PlanLine(remaining, first);
    total += LineSize(plan.body_bytes);
    if (plan.last) break;
    remaining -= plan.body_bytes - (first ? 2 : 0);
    first = false;
  }
  return total;
}

Result<size_t> SerialEncoder::Encode(ConstByteSpan packet, ByteSpan out) {
  SMPKIT_ASSIGN_OR_RETURN(SerialEncoder encoder, Create(packet));
  const size_t need = EncodedSize(packet.size());
  if (out.size() < need) {
    return Error::Format(Errc::kNoSpace, "serial encoding of %zu bytes needs %zu, have %zu",
                         packet.size(), need, out.size());
  }
  size_t written = 0;
  while (!encoder.Done()) {
    SMPKIT_ASSIGN_OR_RETURN(size_t n, encoder.NextLine(out.subspan(written)));
    written += n;
  }
  return written;
}

uint8_t SerialEncoder::BodyByte(size_t body_offset) const {
  const size_t n = packet_.size();
  if (body_offset < 2) return static_cast<uint8_t>((n + 2) >> (body_offset == 0 ? 8 : 0));
  if (body_offset < n + 2) return packet_[body_offset - 2];
  return static_cast<uint8_t>(crc_ >> (body_offset == n + 2 ? 8 : 0));
}

Result<size_t> SerialEncoder::NextLine(ByteSpan out) {
  if (done_) return size_t{0};
  const bool first = body_offset_ == 0;
  const size_t encoded = first ? 0 : body_offset_ - 2;
  const LinePlan plan = PlanLine(packet_.size() - encoded, first);
  const size_t size = LineSize(plan.body_bytes);
  if (out.size() < size) {
    return Error::Format(Errc::kNoSpace, "serial line needs %zu bytes, have %zu", size, out.size());
  }
  const uint8_t* marker = first ? kSerialPacketMarker : kSerialContinuationMarker;
  out[0] = marker[0];
  out[1] = marker[1];
  size_t o = 2;
  const size_t end = body_offset_ + plan.body_bytes;
  while (body_offset_ < end) {
    uint8_t triple[3];
    const size_t n = std::min<size_t>(3, end - body_offset_);
    for (size_t i = 0; i < n; ++i) triple[i] = BodyByte(body_offset_ + i);
    body_offset_ += n;
    auto chars = std::span<char>(reinterpret_cast<char*>(&out[o]), 4);
    SMPKIT_ASSIGN_OR_RETURN(size_t k, Base64Encode(ConstByteSpan(triple, n), chars));
    o += k;
  }
  out[o++] = '\n';
  done_ = plan.last;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Decoder

void SerialDecoder::Reset() {
  state_ = State::kText;
  in_progress_ = false;
  line_padded_ = false;
  quad_len_ = 0;
  body_len_ = 0;
  expected_ = 0;
}

PacketResult SerialDecoder::Process(uint8_t byte) {
  switch (Consume(byte)) {
    case Step::kMore:
      return std::optional<ConstByteSpan>();
    case Step::kPacket:
      return std::optional<ConstByteSpan>(ConstByteSpan(buffer_.data(), packet_size_));
    case Step::kError:
      break;
  }
  return error_;
}

SerialDecoder::FeedResult SerialDecoder::Feed(ConstByteSpan data) {
  for (size_t i = 0; i < data.size(); ++i) {
    switch (Consume(data[i])) {
      case Step::kMore:
        continue;
      case Step::kPacket:
        return {i + 1, std::optional<ConstByteSpan>(ConstByteSpan(buffer_.data(), packet_size_))};
      case Step::kError:
        return {i + 1, error_};
    }
  }
  return {data.size(), std::optional<ConstByteSpan>()};
}

SerialDecoder::Step SerialDecoder::Fail(Error error) {
  error_ = std::move(error);
  in_progress_ = false;
  body_len_ = 0;
  expected_ = 0;
  state_ = State::kText;
  return Step::kError;
}

SerialDecoder::Step SerialDecoder::StartLine(bool first) {
  quad_len_ = 0;
  line_padded_ = false;
  if (first) {
    // A new packet line abandons whatever was in progress, as Zephyr does.
    in_progress_ = true;
    body_len_ = 0;
    expected_ = 0;
  }
  state_ = State::kLine;
  return Step::kMore;
}

SerialDecoder::Step SerialDecoder::Consume(uint8_t byte) {
  switch (state_) {
    case State::kText:
      break;
    case State::kMarkerPacket:
      if (byte == kSerialPacketMarker[1]) return StartLine(true);
      state_ = State::kText;
      break;  // re-examine this byte as text: it may open another marker
    case State::kMarkerContinuation:
      if (byte == kSerialContinuationMarker[1]) {
        if (in_progress_) return StartLine(false);
        // Nothing in progress: the line's base64 is skipped as text.
        state_ = State::kText;
        return Step::kMore;
      }
      state_ = State::kText;
      break;
    case State::kLine:
      if (byte == '\n') {
        state_ = State::kText;
        return EndLine();
      }
      if (byte == '\r') return Step::kMore;
      if (!IsBase64Char(byte)) {
        const Step step =
            Fail(Error::Format(Errc::kInvalidArgument,
                               "byte 0x%02x in an SMP line is not base64 (line dropped)", byte));
        // The offending byte may open a new frame (e.g. a line cut short by a reset).
        if (byte == kSerialPacketMarker[0]) state_ = State::kMarkerPacket;
        if (byte == kSerialContinuationMarker[0]) state_ = State::kMarkerContinuation;
        return step;
      }
      if (line_padded_) {
        return Fail(
            Error(Errc::kInvalidArgument, "base64 continues after '=' padding within an SMP line"));
      }
      quad_[quad_len_++] = static_cast<char>(byte);
      if (quad_len_ == 4) return DecodeQuad();
      return Step::kMore;
  }
  // Text outside SMP lines: only a marker's first byte matters.
  if (byte == kSerialPacketMarker[0]) {
    state_ = State::kMarkerPacket;
  } else if (byte == kSerialContinuationMarker[0]) {
    state_ = State::kMarkerContinuation;
  }
  return Step::kMore;
}

SerialDecoder::Step SerialDecoder::DecodeQuad() {
  uint8_t raw[3];
  auto decoded = Base64Decode(std::string_view(quad_, 4), raw);
  quad_len_ = 0;
  if (!decoded.ok()) {
    return Fail(Error::Format(Errc::kInvalidArgument, "bad base64 quad \"%.4s\" in SMP line: %.*s",
                              quad_, static_cast<int>(decoded.error().message().size()),
                              decoded.error().message().data()));
  }
  if (*decoded < 3) line_padded_ = true;
  for (size_t i = 0; i < *decoded; ++i) {
    if (PushBodyByte(raw[i]) == Step::kError) return Step::kError;
  }
  return Step::kMore;
}

SerialDecoder::Step SerialDecoder::PushBodyByte(uint8_t b) {
  if (body_len_ < 2) {
    expected_ = expected_ << 8 | b;
    ++body_len_;
    if (body_len_ < 2) return Step::kMore;
    if (expected_ < 3) {
      return Fail(Error::Format(Errc::kCorrupt,
                                "serial length prefix %zu leaves no room for a packet and its "
                                "2-byte CRC",
                                expected_));
    }
    if (expected_ > buffer_.size()) {
      return Fail(Error::Format(Errc::kNoSpace,
                                "serial packet of %zu bytes exceeds the receive buffer (max %zu)",
                                expected_ - 2, max_packet_size()));
    }
    return Step::kMore;
  }
  const size_t offset = body_len_ - 2;
  if (offset >= expected_) {
    return Fail(Error::Format(Errc::kCorrupt,
                              "serial frame carries more than the %zu bytes its length prefix "
                              "announces",
                              expected_));
  }
  buffer_[offset] = b;
  ++body_len_;
  return Step::kMore;
}

SerialDecoder::Step SerialDecoder::EndLine() {
  if (quad_len_ != 0) {
    return Fail(Error::Format(Errc::kInvalidArgument,
                              "SMP line ends inside a base64 quad (%u characters left over)",
                              static_cast<unsigned>(quad_len_)));
  }
  if (body_len_ < 2) {
    return Fail(Error::Format(Errc::kInvalidArgument,
                              "first SMP line holds %zu decoded bytes, too few for the length "
                              "prefix",
                              body_len_));
  }
  const size_t received = body_len_ - 2;
  if (received < expected_) return Step::kMore;  // wait for continuation lines
  // received == expected_: PushBodyByte refuses anything beyond.
  const uint16_t crc = Crc16Xmodem(ConstByteSpan(buffer_.data(), expected_ - 2));
  const uint16_t sent = LoadBe16(&buffer_[expected_ - 2]);
  if (crc != sent) {
    return Fail(Error::Format(Errc::kCorrupt,
                              "serial frame CRC mismatch: computed 0x%04x, frame carries 0x%04x",
                              crc, sent));
  }
  packet_size_ = expected_ - 2;
  in_progress_ = false;
  body_len_ = 0;
  expected_ = 0;
  return Step::kPacket;
}

}  // namespace smpkit::transport
