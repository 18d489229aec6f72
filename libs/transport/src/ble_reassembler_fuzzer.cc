// Fuzzes the BLE reassembler with arbitrary fragment sequences against a plain reference model
// of Zephyr's reassembly rules, and checks that fragmenting any packet at any MTU and
// reassembling it gives it back. Aborts on any mismatch.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "smpkit/transport/ble_sar.h"

namespace {

using smpkit::ConstByteSpan;
using smpkit::Errc;
using smpkit::LoadBe16;
using smpkit::transport::BleFragmenter;
using smpkit::transport::BleReassembler;
using smpkit::transport::BleReassemblerBuffer;
using smpkit::transport::kSmpHeaderSize;
using smpkit::transport::PacketResult;

// The rules of smp-protocol.md §8.2, written as directly as possible.
struct Model {
  size_t capacity;
  std::vector<uint8_t> partial;
  size_t expected = 0;

  // Returns the outcome: 0 more needed, 1 complete (packet in `done`), 2 error.
  int Feed(ConstByteSpan f, std::vector<uint8_t>& done, Errc& code) {
    if (partial.empty()) {
      if (f.size() < kSmpHeaderSize) {
        code = Errc::kTruncated;
        return 2;
      }
      expected = kSmpHeaderSize + LoadBe16(&f[2]);
      if (expected > capacity) {
        code = Errc::kNoSpace;
        return 2;
      }
    }
    if (partial.size() + f.size() > expected) {
      partial.clear();
      code = Errc::kCorrupt;
      return 2;
    }
    partial.insert(partial.end(), f.begin(), f.end());
    if (partial.size() < expected) return 0;
    done = partial;
    partial.clear();
    return 1;
  }
};

void CheckRoundTrip(ConstByteSpan data) {
  if (data.size() < kSmpHeaderSize + 1) return;
  const size_t mtu = 23 + data[0] % (517 - 23 + 1);
  std::vector<uint8_t> packet(data.begin() + 1, data.end());
  packet.resize(std::min<size_t>(packet.size(), 4096));
  const size_t payload = packet.size() - kSmpHeaderSize;
  packet[2] = static_cast<uint8_t>(payload >> 8);
  packet[3] = static_cast<uint8_t>(payload);
  auto frag = BleFragmenter::Create(packet, mtu);
  if (!frag.ok()) std::abort();
  static BleReassemblerBuffer<4096> reassembler;
  reassembler.Reset();
  size_t count = 0;
  while (!frag->Done()) {
    ConstByteSpan f = frag->Next();
    if (f.empty() || f.size() > mtu - 3) std::abort();
    ++count;
    PacketResult r = reassembler.Feed(f);
    if (!r.ok()) std::abort();
    if (r->has_value() != frag->Done()) std::abort();
    if (r->has_value()) {
      if ((*r)->size() != packet.size() ||
          std::memcmp((*r)->data(), packet.data(), packet.size()) != 0) {
        std::abort();
      }
    }
  }
  if (count != frag->FragmentCount()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Byte 0 picks the capacity; then fragments as [length byte][bytes], length 0xff = Reset().
  static constexpr size_t kCapacities[] = {8, 20, 64, 255, 384, 1024};
  const size_t capacity = kCapacities[data[0] % std::size(kCapacities)];
  std::vector<uint8_t> storage(capacity);
  BleReassembler reassembler(storage);
  Model model{capacity, {}, 0};
  size_t pos = 1;
  while (pos < size) {
    const size_t len = data[pos++];
    if (len == 0xff) {
      reassembler.Reset();
      model.partial.clear();
      continue;
    }
    const size_t n = std::min(len, size - pos);
    ConstByteSpan f(data + pos, n);
    pos += n;
    std::vector<uint8_t> expect;
    Errc code = Errc::kOk;
    const int outcome = model.Feed(f, expect, code);
    PacketResult r = reassembler.Feed(f);
    switch (outcome) {
      case 0:
        if (!r.ok() || r->has_value()) std::abort();
        break;
      case 1:
        if (!r.ok() || !r->has_value()) std::abort();
        if ((*r)->size() != expect.size() ||
            std::memcmp((*r)->data(), expect.data(), expect.size()) != 0) {
          std::abort();
        }
        break;
      default:
        if (r.ok() || r.error().code() != code || r.error().message().empty()) std::abort();
    }
    if (reassembler.received() != model.partial.size()) std::abort();
    if (reassembler.received() > reassembler.capacity()) std::abort();
  }
  CheckRoundTrip(ConstByteSpan(data, size));
  return 0;
}
