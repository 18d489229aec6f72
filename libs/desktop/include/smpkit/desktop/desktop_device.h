#pragma once
// The simulated nRF Desktop device (nrf-desktop.md): the SMP device of libs/device behind the
// nRF Desktop modules — main, ble_state, smp (Era A smp.c, or the newer era's dfu_mcumgr),
// dfu (config-channel DFU), dfu_lock, ble_latency, power_manager — talking over one typed
// event bus on one sim::Scheduler (the "system workqueue"). Sans-I/O: a simulated central
// drives it through libs/ble (Link + GATT SMP service), a host drives config-channel DFU
// through ConfigRequest(), and tests may also feed SMP packets directly.
//
// Time costs: flash operations cost what the flash's Timing says (flash::Timing::Nrf52() for
// nRF52840 figures); the device charges that time as processing time before answering an SMP
// packet (between radio events when over BLE) and before the next background-erase step.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/ble/link.h"
#include "smpkit/desktop/config_dfu.h"
#include "smpkit/desktop/dfu_lock.h"
#include "smpkit/desktop/event_bus.h"
#include "smpkit/desktop/events.h"
#include "smpkit/desktop/kconfig.h"
#include "smpkit/device/device.h"
#include "smpkit/flash/flash.h"
#include "smpkit/sim/scheduler.h"
#include "smpkit/smp/server.h"

namespace smpkit::desktop {

// Timings of the modules (nrf-desktop.md §0, §12: keep them exact); overridable for tests.
struct DesktopTimings {
  sim::Duration dfu_timeout = sim::Ms(5000);          // config-channel data timeout
  sim::Duration dfu_reboot_delay = sim::Ms(250);      // after the reboot fetch
  sim::Duration erase_postpone = sim::Ms(15000);      // device in use
  sim::Duration store_period = sim::Ms(5);            // background store step
  sim::Duration mcumgr_lock_hold = sim::Ms(5000);     // newer era: dfu_mcumgr's DFU_TIMEOUT
  sim::Duration low_latency_check = sim::Ms(5000);    // ble_latency
  sim::Duration smp_packet_base = sim::Us(300);       // CPU time per SMP packet (plus flash)
  sim::Duration blank_check_per_page = sim::Us(100);  // 8 reads of 512 B
};

struct DesktopOptions {
  // nRF Desktop boards keep a settings partition (Zephyr's storage_partition) after the
  // image slots; CONFIG_MCUMGR_GRP_SETTINGS serves the device's settings from it.
  DesktopOptions() { device.settings_size = 2 * device.page_size; }
  DesktopConfig config;
  device::DeviceConfig device;
  DesktopTimings timings;
};

// Snapshot of the modules' state, for tests and timelines.
struct DesktopStatus {
  bool running = false;
  const DfuLockOwner* lock_owner = nullptr;
  // smp
  bool smp_ready = false;
  bool smp_started = false;  // Era A: the lock was taken for good
  // dfu
  bool dfu_flash_clean = false;
  bool dfu_erase_pending = false;
  bool dfu_transfer_open = false;
  bool dfu_reboot_pending = false;
  bool dfu_other_transport_used_slot = false;
  uint32_t dfu_cur_offset = 0;
  uint32_t dfu_sync_offset = 0;
  uint32_t dfu_erase_postponed = 0;  // times the erase was postponed (device in use)
  // ble_latency
  bool connected = false;
  bool secured = false;
  bool low_latency_enabled = false;
  bool low_latency_required = false;
  uint16_t link_latency = 0;  // current link parameters (0 if no link)
  uint16_t link_interval = 0;
  // power manager
  PowerLevel power_restriction = PowerLevel::kMax;  // deepest level currently allowed + 1
  bool suspended = false;
  uint32_t lock_assertion_failures = 0;
  // SMP transport
  uint64_t smp_dropped_no_buffer = 0;  // requests dropped with MCUMGR_BUF_COUNT buffers in use
};

// The link as it runs once the device's own side is applied to what the central set up
// (`central`): the peripheral's link layer (CONFIG_BT_LL_SOFTDEVICE / CONFIG_BT_LL_SW_SPLIT:
// ble::ControllerProfile), its TX buffers (CONFIG_BT_CONN_TX_MAX), and the data length and
// PHY updates the peripheral starts itself when the central did not
// (CONFIG_BT_DATA_LEN_UPDATE, CONFIG_BT_AUTO_PHY_UPDATE).
ble::LinkConfig WithPeripheralSide(const DesktopConfig& config, ble::LinkConfig central);

class DesktopDevice {
 public:
  using Logger = std::function<void(sim::Time, ModuleId, std::string_view message)>;
  using ConfigResponse = std::function<void(const ConfigEvent& response)>;

  // `flash` must outlive the device and hold options.device.FlashSize() bytes.
  DesktopDevice(sim::Scheduler& scheduler, flash::Flash& flash, DesktopOptions options);
  ~DesktopDevice();
  DesktopDevice(const DesktopDevice&) = delete;
  DesktopDevice& operator=(const DesktopDevice&) = delete;

  // Writes the factory image into the primary slot.
  Status Provision(ConstByteSpan image);
  // Power on: runs the bootloader, then the modules start (main READY is submitted; the
  // cascade runs on the scheduler). The bootloader's flash work (a swap) takes the flash
  // model's time first: until then the application is not running (no link can be
  // attached). Errors: the bootloader's.
  Result<mcuboot::BootReport> PowerOn();
  // Warm reboot now (what the reboot works and an accepted OS reset do): all RAM state is lost,
  // an attached link is terminated, then PowerOn().
  Result<mcuboot::BootReport> Reboot();

  // --- Bluetooth LE ---
  // Attaches a connected link (call after link.Connect()): registers the GATT SMP service on
  // it (ATT MTU up to `att_rx_mtu`; default from CONFIG_BT_L2CAP_TX_MTU), and ble_state
  // reports CONNECTED (plus SECURED when the link is already encrypted). The device takes the
  // link's SetOnParamsUpdated slot. The link must outlive the device.
  // Errors: kBadState when not running, already attached, or the link is not connected.
  Status AttachLink(ble::Link& link, std::optional<uint16_t> att_rx_mtu = std::nullopt);
  // Pairing/encryption completed: ble_state reports SECURED.
  void SetLinkSecured();
  bool link_attached() const;
  // The application runs (false while the bootloader works after a power-on or reboot).
  bool running() const;
  // The bootloader's flash work at the last power-on (a swap's duration; 0 without one).
  sim::Duration last_boot_work() const;
  // Observer of the link's parameter updates (the slot the device took).
  void SetParamsObserver(std::function<void(const ble::ConnParams&)> cb);

  // --- SMP without BLE (e.g. UDP/in-process): handled at once, responses go to `sink`. ---
  size_t HandleSmpPacket(ConstByteSpan packet, smp::ResponseSink& sink);

  // --- HID ---
  // One HID input report (mouse motion, button): the device is "in use".
  void HidReport();

  // --- Config channel (HID feature reports) ---
  // Submits a config_event request from the config-channel transport after `delay` (report
  // transfer time); `on_response` runs once with the module's response event. Returns false
  // when the device has no config channel (CONFIG_DESKTOP_CONFIG_CHANNEL_ENABLE=n) or while
  // another request of the same transport is outstanding.
  bool ConfigRequest(const ConfigEvent& request, ConfigResponse on_response,
                     sim::Duration delay = sim::Duration(0));

  // --- Introspection ---
  DesktopStatus status() const;
  EventBus& bus();
  DfuLock& lock();
  device::Device& device();
  const DesktopConfig& config() const;
  // The seed-style event propagation table of one module, or of all modules.
  std::string PropagationTable(ModuleId module) const;
  std::string PropagationTables() const;
  void SetLogger(Logger logger);
  uint32_t boot_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smpkit::desktop
