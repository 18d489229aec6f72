// Fuzzes the Intel HEX reader, and checks that what it reads writes back and reads again to
// the same image (the writer's output must always parse).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smpkit/mcuboot/intel_hex.h"

using namespace smpkit;
using namespace smpkit::mcuboot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto image = ParseIntelHex(text, 1u << 20);
  if (!image.ok() || !image->has_data) return 0;
  HexChunk chunk{image->base, ConstByteSpan(image->data)};
  auto written = WriteIntelHex(std::span<const HexChunk>(&chunk, 1));
  if (!written.ok()) std::abort();
  auto again = ParseIntelHex(*written, 1u << 20);
  if (!again.ok() || !again->has_data || again->base != image->base || again->data != image->data) {
    std::abort();
  }
  return 0;
}
