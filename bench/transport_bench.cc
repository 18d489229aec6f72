// Transport framing throughput: serial console encode+decode of a 2 KiB SMP packet, and BLE
// fragmentation+reassembly of a 2475-byte packet at ATT MTU 498.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "smpkit/transport/ble_sar.h"
#include "smpkit/transport/serial.h"

namespace {

using smpkit::transport::BleFragmenter;
using smpkit::transport::BleReassemblerBuffer;
using smpkit::transport::SerialDecoderBuffer;
using smpkit::transport::SerialEncoder;

std::vector<uint8_t> MakePacket(size_t total) {
  std::vector<uint8_t> p(total);
  p[0] = 0x0a;
  p[2] = static_cast<uint8_t>((total - 8) >> 8);
  p[3] = static_cast<uint8_t>(total - 8);
  for (size_t i = 8; i < total; ++i) p[i] = static_cast<uint8_t>(i * 31 + 7);
  return p;
}

void BM_SerialEncode2K(benchmark::State& state) {
  const std::vector<uint8_t> packet = MakePacket(2048);
  std::vector<uint8_t> wire(SerialEncoder::EncodedSize(packet.size()));
  for (auto _ : state) {
    auto n = SerialEncoder::Encode(packet, wire);
    if (!n.ok()) std::abort();
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * packet.size()));
}
BENCHMARK(BM_SerialEncode2K);

void BM_SerialDecode2K(benchmark::State& state) {
  const std::vector<uint8_t> packet = MakePacket(2048);
  std::vector<uint8_t> wire(SerialEncoder::EncodedSize(packet.size()));
  if (!SerialEncoder::Encode(packet, wire).ok()) std::abort();
  SerialDecoderBuffer<2048> decoder;
  for (auto _ : state) {
    auto r = decoder.Feed(wire);
    if (!r.packet.ok() || !r.packet->has_value()) std::abort();
    benchmark::DoNotOptimize((*r.packet)->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * packet.size()));
}
BENCHMARK(BM_SerialDecode2K);

void BM_SerialEncodeDecode2K(benchmark::State& state) {
  const std::vector<uint8_t> packet = MakePacket(2048);
  std::vector<uint8_t> wire(SerialEncoder::EncodedSize(packet.size()));
  SerialDecoderBuffer<2048> decoder;
  for (auto _ : state) {
    if (!SerialEncoder::Encode(packet, wire).ok()) std::abort();
    auto r = decoder.Feed(wire);
    if (!r.packet.ok() || !r.packet->has_value()) std::abort();
    benchmark::DoNotOptimize((*r.packet)->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * packet.size()));
}
BENCHMARK(BM_SerialEncodeDecode2K);

void BM_BleReassemble2475AtMtu498(benchmark::State& state) {
  const std::vector<uint8_t> packet = MakePacket(2475);
  BleReassemblerBuffer<2475> reassembler;
  for (auto _ : state) {
    auto frag = BleFragmenter::Create(packet, 498);
    if (!frag.ok()) std::abort();
    while (!frag->Done()) {
      auto r = reassembler.Feed(frag->Next());
      if (!r.ok()) std::abort();
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * packet.size()));
}
BENCHMARK(BM_BleReassemble2475AtMtu498);

}  // namespace
