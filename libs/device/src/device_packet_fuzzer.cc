// Fuzzes whole transport packets into the simulated device: the SMP dispatcher with the OS
// and image groups (state read/write, upload, erase, slot info) over a small flash, the
// bootloader model behind them. Packets are split on 0xFE bytes so that one input can carry
// a sequence of requests (e.g. an upload followed by state writes and a reset).
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "smpkit/device/device.h"

namespace {

class CheckingSink : public smpkit::smp::ResponseSink {
 public:
  void SendResponse(smpkit::ConstByteSpan frame) override {
    auto h = smpkit::smp::DecodeHeader(frame);
    if (!h.ok() || frame.size() != smpkit::smp::kHeaderSize + h->length) std::abort();
  }
};

smpkit::device::DeviceConfig Config() {
  smpkit::device::DeviceConfig c;
  c.bootloader_size = 0x1000;
  c.slot_size = 0x8000;
  c.server.buf_size = 1024;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto factory = smpkit::device::MakeFactoryImage("1.0.0", 2000);
  smpkit::flash::RamFlash flash(Config().Geometry());
  smpkit::device::Device dev(flash, Config());
  if (!factory.ok() || !dev.Provision(*factory).ok() || !dev.Boot().ok()) std::abort();
  CheckingSink sink;
  size_t start = 0;
  for (size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == 0xfe) {
      dev.HandlePacket(smpkit::ConstByteSpan(data + start, i - start), sink);
      if (dev.reset_requested() && !dev.Boot().ok()) {
        // A reset must always find a bootable image: the running one was never touched.
        std::abort();
      }
      start = i + 1;
    }
  }
  return 0;
}
