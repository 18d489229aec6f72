// Feeds arbitrary L2CAP payloads (ATT, signalling, unknown channels) from a fuzzed central
// to the peripheral's GATT SMP server and link, and the reverse to the client.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "smpkit/ble/gatt_smp.h"
#include "smpkit/ble/link.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smpkit;
  (void)ble::ParseUuid128(AsString(ConstByteSpan(data, size)));
  sim::Scheduler sched(1);
  ble::LinkConfig cfg;
  cfg.data_length = 27;
  ble::Link link(sched, cfg);
  ble::GattSmpServer server(link, 498);
  ble::GattSmpClient client(link, 247);
  server.SetWriteHandler([&](ConstByteSpan v) { (void)server.Notify(v.first(v.size() / 2)); });
  if (!link.Connect().ok()) return 0;
  // Records: [selector][len][len bytes]...
  size_t i = 0;
  while (i + 2 <= size) {
    const uint8_t sel = data[i];
    const size_t len = std::min<size_t>(data[i + 1], size - i - 2);
    ConstByteSpan payload(data + i + 2, len);
    i += 2 + len;
    const ble::Role from = (sel & 0x80) ? ble::Role::kPeripheral : ble::Role::kCentral;
    const uint16_t cid = (sel & 0x03) == 0   ? ble::kL2capAttCid
                         : (sel & 0x03) == 1 ? ble::kL2capSignalingCid
                                             : static_cast<uint16_t>(0x40 + (sel & 0x03));
    (void)link.SendL2cap(from, cid, payload);
    if (sel & 0x10) (void)client.WriteWithoutResponse(payload);
    if (sel & 0x20) (void)client.ExchangeMtu();
    sched.RunFor(std::chrono::milliseconds(20));
  }
  // Until everything queued has been carried (idle connection events are background tasks),
  // at most 1 s.
  (void)sched.RunUntilCondition([&] { return sched.foreground_pending() == 0; },
                                sched.Now() + std::chrono::seconds(1));
  return 0;
}
