// Fuzzes the notification reassembler with arbitrary notification sequences against a
// reference model: the concatenation of every value since the last reset (or error), cut by
// the SMP header lengths. Aborts on any mismatch.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "smpkit/bluez/notify_reassembler.h"

namespace {

using smpkit::ConstByteSpan;
using smpkit::bluez::NotifyReassembler;

struct Model {
  size_t max_packet;
  std::vector<uint8_t> stream;
  // Returns false when a header announces too much (the stream is then dropped).
  bool Feed(ConstByteSpan v, std::vector<std::vector<uint8_t>>& out) {
    stream.insert(stream.end(), v.begin(), v.end());
    while (stream.size() >= 8) {
      const size_t total = 8 + (size_t{stream[2]} << 8 | stream[3]);
      if (total > max_packet) {
        stream.clear();
        return false;
      }
      if (stream.size() < total) break;
      out.emplace_back(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(total));
      stream.erase(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(total));
    }
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Byte 0 picks the limit; then values as [length byte][bytes], length 0xff = Reset().
  static constexpr size_t kLimits[] = {8, 9, 64, 300, 2475, smpkit::bluez::kMaxSmpPacket};
  const size_t limit = kLimits[data[0] % std::size(kLimits)];
  NotifyReassembler r(limit);
  Model model{limit, {}};
  size_t pos = 1;
  while (pos < size) {
    const size_t len = data[pos++];
    if (len == 0xff) {
      r.Reset();
      model.stream.clear();
      continue;
    }
    const size_t n = std::min(len, size - pos);
    ConstByteSpan v(data + pos, n);
    pos += n;
    std::vector<std::vector<uint8_t>> expect, got;
    const bool model_ok = model.Feed(v, expect);
    auto st = r.Feed(v, [&](ConstByteSpan p) {
      if (p.size() < 8 || p.size() > limit) std::abort();
      got.emplace_back(p.begin(), p.end());
    });
    if (st.ok() != model_ok) std::abort();
    if (!st.ok() && st.error().message().empty()) std::abort();
    if (got != expect) std::abort();
    if (r.pending() != model.stream.size()) std::abort();
  }
  return 0;
}
