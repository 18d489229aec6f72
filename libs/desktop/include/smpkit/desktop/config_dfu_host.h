#pragma once
// Host side of config-channel DFU (the hid_configurator's dfu.py, nrf-desktop.md §5.13) over the
// simulated HID config channel of a DesktopDevice, on virtual time: poll sync until not busy,
// resume when length and CRC match, start, send 25-byte data reports up to each sync-buffer
// checkpoint, sync (sleeping while STORING), finish, then fetch reboot.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "smpkit/base/result.h"
#include "smpkit/desktop/config_dfu.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::desktop {

struct ConfigDfuHostOptions {
  uint8_t transport_id = 1;
  sim::Duration report_delay = sim::Ms(8);      // one feature report each way
  sim::Duration busy_poll = sim::Ms(1000);      // while CLEANING / ACTIVE_OTHER
  sim::Duration busy_timeout = sim::Ms(20000);  // give up waiting for a busy device
  sim::Duration storing_sleep = sim::Ms(300);   // doubles every 8 retries, capped at 1 s
  bool reboot = true;                           // fetch "reboot" at the end
};

struct ConfigDfuResult {
  uint32_t resumed_from = 0;
  uint32_t data_reports = 0;
  uint32_t sync_fetches = 0;
  bool rebooted = false;
  sim::Time started{0};
  sim::Time finished{0};
};

class ConfigDfuHost {
 public:
  using Done = std::function<void(Result<ConfigDfuResult>)>;

  ConfigDfuHost(sim::Scheduler& scheduler, DesktopDevice& device,
                ConfigDfuHostOptions options = {});
  ConfigDfuHost(const ConfigDfuHost&) = delete;
  ConfigDfuHost& operator=(const ConfigDfuHost&) = delete;

  // Runs the whole DFU of `image`; `done` runs once. Errors passed to `done`: kBusy "another
  // DFU transport holds the DFU lock (sync state 4)" after busy_timeout, kRemote for rejected
  // requests, kCorrupt when the device reports another image or offset, kAccessDenied when the
  // reboot is refused.
  void Run(std::vector<uint8_t> image, Done done);
  bool busy() const { return busy_; }

  // Single requests (the async building blocks), for tests and tools.
  void Fetch(DfuOption option, std::function<void(Result<ConfigEvent>)> cb);
  void Set(DfuOption option, ConstByteSpan data, std::function<void(Result<ConfigEvent>)> cb);
  void Sync(std::function<void(Result<SyncInfo>)> cb);

 private:
  void Request(ConfigStatus status, uint8_t option_field, ConstByteSpan data,
               std::function<void(Result<ConfigEvent>)> cb);
  void Fail(Error e);
  void WaitNotBusy();
  void SendStart();
  void AfterStart();
  void SendData();
  void Checkpoint();
  void Finish();

  sim::Scheduler& scheduler_;
  DesktopDevice& device_;
  ConfigDfuHostOptions opt_;
  std::vector<uint8_t> image_;
  uint32_t crc_ = 0;
  uint32_t offset_ = 0;      // host's offset
  uint32_t checkpoint_ = 0;  // next sync point
  uint16_t buffer_size_ = 512;
  uint32_t storing_retries_ = 0;
  uint32_t start_attempts_ = 0;
  sim::Time busy_since_{0};
  ConfigDfuResult result_;
  Done done_;
  bool busy_ = false;
};

}  // namespace smpkit::desktop
