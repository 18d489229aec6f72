// Fuzzes the bootloader model over arbitrary flash contents (trailers, status tables, image
// headers and TLVs as left by any history), with a power cut at a fuzzed operation.
// Input: [mode][cut lo][cut hi][actions] then the raw bytes of both slots (rest erased).
// Invariant checked (swap modes): once a boot completed, the next boot completes too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "smpkit/flash/flash.h"
#include "smpkit/flash/partition.h"
#include "smpkit/mcuboot/boot.h"

using namespace smpkit;  // NOLINT

namespace {

constexpr uint32_t kPage = 256;
constexpr uint32_t kSlot = 8 * kPage;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t mode = data[0] % 3;
  const uint32_t cut = data[1] | uint32_t{data[2]} << 8;
  const uint8_t actions = data[3];
  flash::RamFlash dev({.size = 2 * kSlot, .page_size = kPage, .write_align = 4});
  const size_t n = std::min<size_t>((size - 4) / 4 * 4, 2 * kSlot);
  if (n > 0 && !dev.Write(0, std::span(data + 4, n)).ok()) std::abort();
  auto layout = flash::MakeLayout(dev, {.slot_size = kSlot});
  if (!layout.ok()) std::abort();

  mcuboot::BootConfig cfg;
  cfg.mode = static_cast<mcuboot::BootMode>(mode);
  cfg.trailer.max_sectors = 4;
  cfg.downgrade_prevention = (actions & 0x10) != 0;
  cfg.direct_xip_revert = (actions & 0x20) != 0;
  auto boot_once = [&]() {
    mcuboot::Bootloader boot(std::span(layout->images.data(), 1), cfg);
    return boot.Boot();
  };

  if (cut != 0xFFFF) dev.CutPowerAtMutation(cut);
  auto first = boot_once();
  dev.PowerOn();
  if (!first.ok() && first.error().code() == Errc::kIo) first = boot_once();
  if (!first.ok()) return 0;

  mcuboot::Bootloader boot(std::span(layout->images.data(), 1), cfg);
  if (!boot.Boot().ok() && mode != static_cast<uint8_t>(mcuboot::BootMode::kDirectXip)) {
    std::abort();  // a device that booted once must boot again
  }
  auto state = boot.ReadImageState();
  if (!state.ok()) std::abort();
  if (actions & 0x01) (void)boot.RequestUpgrade(0, (actions & 0x02) != 0);
  if (actions & 0x04) (void)boot.ConfirmRunning();
  if ((actions & 0x08) && state->count > 0) {
    const auto& s = state->slots[state->count - 1];
    (void)boot.WriteImageState(smpkit::ConstByteSpan(s.hash), (actions & 0x40) != 0);
  }
  (void)boot.SlotInUse(0, 1);
  auto again = boot.Boot();
  if (!again.ok() && mode != static_cast<uint8_t>(mcuboot::BootMode::kDirectXip) &&
      again.error().code() == Errc::kIo) {
    std::abort();  // no fault is armed any more
  }
  return 0;
}
