#pragma once
// The device side of SMP over a GATT link, the twin of the phone's central::BleSmpCentral:
// the SMP characteristic's writes are reassembled into packets; each packet holds one of
// buf_count request buffers (MCUMGR_TRANSPORT_NETBUF_COUNT) until it is answered, and one
// that finds them all taken is dropped, as Zephyr's smp_bt drops it when its net_buf
// allocation fails. A packet is handled after the CPU time of the SMP layer; its flash work
// (page erases in partial-erase slices, then the writes) runs between radio events
// (Link::RunBetweenRadioEvents); then the answers go out as notifications of at most
// MTU - 3 bytes, in request order.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/ble/gatt_smp.h"
#include "smpkit/ble/link.h"
#include "smpkit/sim/scheduler.h"
#include "smpkit/smp/frame_collector.h"
#include "smpkit/transport/ble_sar.h"

namespace smpkit::ble {

struct SmpPeripheralConfig {
  size_t buf_size = 384;      // largest SMP packet (MCUMGR_TRANSPORT_NETBUF_SIZE)
  size_t buf_count = 4;       // request buffers (MCUMGR_TRANSPORT_NETBUF_COUNT)
  sim::Duration cpu_time{0};  // the SMP layer's own time per packet, alongside the radio
  // A page erase runs in slices of this length, each between radio events
  // (CONFIG_SOC_FLASH_NRF_PARTIAL_ERASE_MS).
  sim::Duration erase_slice = std::chrono::milliseconds(3);
};

class SmpPeripheral {
 public:
  // The flash work a packet cost: `flash` in all, `erase` of it page erases.
  struct Work {
    sim::Duration flash{0};
    sim::Duration erase{0};
  };
  // Handles one SMP packet: its answers into `frames`, the flash work it cost returned.
  using Handler = std::function<Work(ConstByteSpan packet, smp::FrameCollector& frames)>;
  // Whether the SMP service is registered (writes before are ignored).
  using Registered = std::function<bool()>;
  using Log = std::function<void(std::string_view message)>;

  // Serves `gatt` on `link`; both must outlive this object, which must be destroyed (or the
  // link gone) before the link's handlers could call it again.
  SmpPeripheral(sim::Scheduler& scheduler, Link& link, GattSmpServer& gatt,
                SmpPeripheralConfig config, Handler handler, Registered registered, Log log);
  ~SmpPeripheral();
  SmpPeripheral(const SmpPeripheral&) = delete;
  SmpPeripheral& operator=(const SmpPeripheral&) = delete;

  uint32_t buffers_in_use() const { return in_use_; }
  uint64_t dropped_no_buffer() const { return dropped_; }

 private:
  void OnWrite(ConstByteSpan value);
  void Respond(const smp::FrameCollector& frames);

  sim::Scheduler& sched_;
  Link& link_;
  GattSmpServer& gatt_;
  SmpPeripheralConfig config_;
  Handler handler_;
  Registered registered_;
  Log log_;
  std::vector<uint8_t> reasm_buf_;
  transport::BleReassembler reasm_;
  uint32_t in_use_ = 0;
  uint64_t dropped_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace smpkit::ble
