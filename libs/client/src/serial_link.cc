#include "smpkit/client/serial_link.h"

namespace smpkit::client {

SerialLink::SerialLink(ByteStream& stream)
    : stream_(stream),
      decode_buffer_(transport::kSerialMaxPacketSize + 2),
      decoder_(decode_buffer_) {
  stream_.SetReadHandler([this](ConstByteSpan bytes) { OnBytes(bytes); });
}

SerialLink::~SerialLink() { stream_.SetReadHandler(nullptr); }

Status SerialLink::Send(ConstByteSpan packet) {
  size_t size = transport::SerialEncoder::EncodedSize(packet.size());
  if (size == 0) {
    return Error::Format(Errc::kNoSpace, "a %zu-byte packet cannot be framed for serial",
                         packet.size());
  }
  encoded_.resize(size);
  SMPKIT_ASSIGN_OR_RETURN(size_t n, transport::SerialEncoder::Encode(packet, encoded_));
  return stream_.Write(ConstByteSpan(encoded_.data(), n));
}

void SerialLink::OnBytes(ConstByteSpan bytes) {
  while (!bytes.empty()) {
    auto r = decoder_.Feed(bytes);
    bytes = bytes.subspan(r.consumed);
    if (!r.packet.ok()) {
      ++stats_.decode_errors;
      if (r.consumed == 0) bytes = bytes.subspan(1);
      continue;
    }
    if (r.packet->has_value()) {
      ++stats_.packets;
      ConstByteSpan p = **r.packet;
      if (handler_) handler_(p);
    }
  }
}

}  // namespace smpkit::client
