// Fuzzes the config-channel DFU command decoder and the payload codecs, then replays the input
// as a sequence of config-channel requests (with HID reports and time steps in between) into
// a fresh simulated device: no crash, encoders and decoders agree, the DFU lock is never
// released by a non-owner, and the store never writes past the update slot.
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "smpkit/desktop/config_dfu.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/flash/flash.h"

namespace {

using namespace smpkit;
using namespace smpkit::desktop;

void CheckCodecs(ConstByteSpan d) {
  std::array<uint8_t, 64> buf{};
  if (auto s = DecodeSync(d); s.ok()) {
    auto n = EncodeSync(*s, buf);
    if (!n.ok() || *n != kSyncSize || !std::equal(buf.begin(), buf.begin() + 15, d.begin()))
      std::abort();
  }
  if (auto f = DecodeFwInfo(d); f.ok()) {
    auto n = EncodeFwInfo(*f, buf);
    if (!n.ok() || !std::equal(buf.begin(), buf.begin() + kFwInfoSize, d.begin())) std::abort();
  }
  if (auto s = DecodeStart(d); s.ok()) {
    auto n = EncodeStart(*s, buf);
    if (!n.ok() || !std::equal(buf.begin(), buf.begin() + 12, d.begin())) std::abort();
  }
  if (auto v = DecodeDevInfo(d); v.ok()) {
    if (v->generation.size() != d.size() - 4) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const ConstByteSpan in(data, size);
  // 1. The decoder on the whole input: option field, status, payload.
  auto cmd = DecodeDfuCommand(data[0], static_cast<ConfigStatus>(data[1] % 12), in.subspan(2));
  if (cmd.ok() && data[0] > kDfuOptionCount) std::abort();
  CheckCodecs(in.subspan(2));

  // 2. The device: records [op][len][payload...]; op bits: 0-2 option field, 3 fetch,
  //    4 HID report first, 5-7 time step.
  static const auto factory = device::MakeFactoryImage("1.0.0", 3000);
  if (!factory.ok()) std::abort();
  sim::Scheduler sched(1);
  DesktopOptions o;
  o.config = *ParsePrjConf(DefaultPrjConf());
  o.config.sync_buffer_words = 8;
  o.device.slot_size = 0x8000;
  flash::RamFlash flash(o.device.Geometry());
  DesktopDevice dev(sched, flash, o);
  if (!dev.Provision(*factory).ok() || !dev.PowerOn().ok()) std::abort();
  sched.RunFor(sim::Ms(200));
  size_t pos = 2;
  int requests = 0;
  int answered = 0;  // responses arrive later, on the scheduler
  while (pos + 2 <= size && requests < 64) {
    const uint8_t op = data[pos];
    const size_t len = std::min<size_t>(data[pos + 1] % 32, size - pos - 2);
    ConfigEvent e;
    e.transport_id = 1;
    e.module_id = kConfigModIdDfu;
    e.option = op & 7;
    e.status = (op & 8) ? ConfigStatus::kFetch : ConfigStatus::kSet;
    e.SetPayload(in.subspan(pos + 2, len));
    pos += 2 + len;
    if (op & 16) dev.HidReport();
    if (dev.ConfigRequest(
            e, [&answered](const ConfigEvent&) { ++answered; }, sim::Ms(1)))
      ++requests;
    sched.RunFor(sim::Ms(int64_t{1} << ((op >> 5) * 2)));  // 1 ms .. 16 s
    auto st = dev.status();
    if (st.lock_assertion_failures != 0) std::abort();
    if (st.dfu_cur_offset > dev.device().layout().images[0].secondary.size()) std::abort();
  }
  sched.RunFor(sim::Ms(20000));
  if (answered > requests) std::abort();
  return 0;
}
