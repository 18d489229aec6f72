#pragma once
// What the modules of the simulated nRF Desktop device share, as the firmware's modules share
// the kernel, the event manager and the DFU lock: the clock, the event bus, the lock, the
// configuration and the log. A module is an object that owns its state, subscribes itself to
// the bus when it is built (at every boot) and is destroyed at power-off, so a reboot starts
// every module afresh by construction.

#include <cstdarg>
#include <cstdio>
#include <string>

#include "smpkit/ble/link.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/desktop/dfu_lock.h"
#include "smpkit/desktop/event_bus.h"
#include "smpkit/desktop/kconfig.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::desktop::modules {

// CONFIG_SOC_FLASH_NRF_PARTIAL_ERASE_MS: the nRF52 flash driver erases a page in slices of
// this length, each scheduled between radio events (ble-calibration.md's dirty-slot point).
inline constexpr sim::Duration kPartialEraseSlice = std::chrono::milliseconds(3);

// The DFU lock's owners (Era A stores the id in the lock word).
inline constexpr uint8_t kOwnerIdDfu = 1;
inline constexpr uint8_t kOwnerIdSmp = 2;

// The Bluetooth host as the modules call it (bt_conn_* in the firmware), provided by
// ble_state: the connection, a connection parameter update request, a disconnect.
class BtHost {
 public:
  virtual ~BtHost() = default;
  // The connection's link, nullptr while not connected.
  virtual const ble::Link* conn() const = 0;
  // bt_conn_le_param_update: sent now, or when the post-connection window ends, or queued
  // behind one in flight. Errors: kBadState when not connected.
  virtual Status RequestParams(const ble::ConnParamRequest& request) = 0;
  // bt_conn_disconnect (remote user terminated).
  virtual Status Disconnect() = 0;
};

struct Context {
  sim::Scheduler& sched;
  EventBus& bus;
  DfuLock& lock;
  const DesktopConfig& cfg;
  const DesktopTimings& tm;
  const DesktopDevice::Logger& logger;

  void Log(ModuleId m, const char* fmt, ...) const __attribute__((format(printf, 3, 4))) {
    if (!logger) return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    logger(sched.Now(), m, buf);
  }
  // Submits `e` from `from`; a refusal (no such source declared, queue full) is logged.
  template <typename E>
  void Submit(ModuleId from, const E& e) const {
    auto st = bus.Submit(from, e);
    if (!st.ok()) Log(from, "%s", std::string(st.error().message()).c_str());
  }
  // power_manager_restrict_event from `m`.
  void Restrict(ModuleId m, PowerLevel level) const {
    Submit(m, PowerManagerRestrictEvent{m, level});
  }
};

}  // namespace smpkit::desktop::modules
