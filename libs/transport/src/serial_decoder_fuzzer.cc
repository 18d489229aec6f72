// Fuzzes the serial console decoder with arbitrary bytes and checks the encoder/decoder round
// trip. Aborts on: a packet larger than the buffer, span feeding and byte feeding disagreeing,
// a decoded packet that does not survive re-encoding, or any encoded packet that does not decode
// back to itself (or breaks the 127-byte line limit).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "smpkit/transport/serial.h"

namespace {

using smpkit::ConstByteSpan;
using smpkit::Errc;
using smpkit::transport::PacketResult;
using smpkit::transport::SerialDecoder;
using smpkit::transport::SerialDecoderBuffer;
using smpkit::transport::SerialEncoder;

constexpr size_t kCapacity = 300;

struct Event {
  bool ok;
  Errc code;
  std::vector<uint8_t> packet;
  bool operator==(const Event& o) const {
    return ok == o.ok && code == o.code && packet == o.packet;
  }
};

void Record(const PacketResult& r, std::vector<Event>& events) {
  if (!r.ok()) {
    if (r.error().message().empty()) std::abort();  // errors must say what was wrong
    events.push_back({false, r.error().code(), {}});
  } else if (r->has_value()) {
    if ((*r)->size() > kCapacity || (*r)->empty()) std::abort();
    events.push_back({true, Errc::kOk, std::vector<uint8_t>((*r)->begin(), (*r)->end())});
  }
}

std::vector<uint8_t> Encode(ConstByteSpan packet) {
  std::vector<uint8_t> wire(SerialEncoder::EncodedSize(packet.size()));
  auto n = SerialEncoder::Encode(packet, wire);
  if (!n.ok() || *n != wire.size()) std::abort();
  size_t line = 0;
  for (uint8_t b : wire) {
    ++line;
    if (b == '\n') {
      if (line > smpkit::transport::kSerialMaxLineSize) std::abort();
      line = 0;
    }
  }
  if (line != 0) std::abort();
  return wire;
}

void CheckRoundTrip(ConstByteSpan packet) {
  const std::vector<uint8_t> wire = Encode(packet);
  SerialDecoderBuffer<kCapacity> decoder;
  auto r = decoder.Feed(wire);
  if (r.consumed != wire.size() || !r.packet.ok() || !r.packet->has_value()) std::abort();
  ConstByteSpan back = **r.packet;
  if (back.size() != packet.size() || std::memcmp(back.data(), packet.data(), back.size()) != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ConstByteSpan input(data, size);

  // Span feeding.
  std::vector<Event> by_span;
  SerialDecoderBuffer<kCapacity> span_decoder;
  ConstByteSpan rest = input;
  while (!rest.empty()) {
    auto r = span_decoder.Feed(rest);
    if (r.consumed == 0 || r.consumed > rest.size()) std::abort();
    rest = rest.subspan(r.consumed);
    Record(r.packet, by_span);
  }

  // Byte feeding must see exactly the same events.
  std::vector<Event> by_byte;
  SerialDecoderBuffer<kCapacity> byte_decoder;
  for (uint8_t b : input) Record(byte_decoder.Process(b), by_byte);
  if (!(by_span == by_byte)) std::abort();

  // Every decoded packet survives re-encoding.
  for (const Event& e : by_span) {
    if (e.ok) CheckRoundTrip(e.packet);
  }

  // The input itself, taken as a packet, round-trips.
  if (size >= 1 && size <= kCapacity) CheckRoundTrip(input);
  return 0;
}
