#pragma once
// OS management group (group 0, smp-protocol.md §5): echo, task statistics, date-time,
// reset, MCUmgr parameters, OS/application info and bootloader info.

#include <cstdint>
#include <span>
#include <string_view>

#include "smpkit/smp/commands.h"
#include "smpkit/smp/server.h"

namespace smpkit::mgmt {

struct DateTime {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int millisecond = -1;  // -1: not given
};

// Parses Zephyr's datetime string (19..25 characters, six fields each followed by one
// separator of any kind, optional .mmm when `with_ms`). Errors: kInvalidArgument naming the
// bad field.
Result<DateTime> ParseDateTime(std::string_view text, bool with_ms);
// "YYYY-MM-DDTHH:MM:SS[.ms]" (ms without zero padding, as Zephyr prints it).
size_t FormatDateTime(const DateTime& dt, bool with_ms, std::span<char> out);

struct TaskInfo {
  std::string_view name;
  int32_t prio = 0;
  uint32_t tid = 0;
  uint32_t state = 0;
};

// What the device provides to the OS group. Every hook has a harmless default.
class OsHooks {
 public:
  virtual ~OsHooks() = default;
  // Application veto of a reset (CONFIG_MCUMGR_GRP_OS_RESET_HOOK). Return Success to allow.
  virtual smp::Outcome OnResetRequest(bool force, uint8_t boot_mode) {
    (void)force;
    (void)boot_mode;
    return smp::Outcome::Success();
  }
  // Called after a reset was accepted; the device restarts once the response is out
  // (CONFIG_MCUMGR_GRP_OS_RESET_MS later).
  virtual void ScheduleReset(uint8_t boot_mode) { (void)boot_mode; }
  // RTC; return false from RtcGet when the time was never set.
  virtual bool RtcGet(DateTime* out) {
    (void)out;
    return false;
  }
  virtual bool RtcSet(const DateTime& dt) {
    (void)dt;
    return false;
  }
  // Task list for task statistics.
  virtual std::span<const TaskInfo> Tasks() { return {}; }
};

struct OsGroupConfig {
  bool echo = true;
  bool taskstat = false;
  bool datetime = false;
  bool datetime_ms = false;
  bool reset = true;
  bool mcumgr_params = true;
  bool info = true;
  bool bootloader_info = true;
  bool reset_boot_mode = false;  // Zephyr 4.2 "boot_mode"
  // OS info items ('b' is unsupported while build_date is empty).
  std::string_view kernel_name = "Zephyr";
  std::string_view node_name = "unknown";
  std::string_view release = "unknown";
  std::string_view version = "3.4.99";
  std::string_view build_date;
  std::string_view machine = "arm";
  std::string_view processor = "cortex-m4";
  std::string_view platform = "nrf52840dk_nrf52840";
  std::string_view os_name = "Zephyr";
  size_t info_max_size = 256;
  // Bootloader info.
  std::string_view bootloader = "MCUboot";
  int32_t bootloader_mode = 3;  // swap without scratch (swap-using-move)
  bool no_downgrade = false;
};

class OsGroup : public smp::Group {
 public:
  // The command ids, shared with the client (smpkit/smp/commands.h).
  using Command = smp::os::Command;
  using enum smp::os::Command;

  OsGroup(const OsGroupConfig& config, const smp::ServerConfig& server, OsHooks& hooks)
      : smp::Group(smp::kGroupOs), config_(config), server_(server), hooks_(hooks) {}

  bool Supports(uint8_t command, smp::Op op) const override;
  smp::Outcome Handle(const smp::Request& request, cbor::Writer& response) override;
  int32_t ToV1Rc(uint16_t rc) const override { return smp::OsErrToV1(rc); }
  std::string_view Name() const override { return "os mgmt"; }
  size_t HandlerCount() const override { return 9; }

  OsGroupConfig& config() { return config_; }

 private:
  smp::Outcome Echo(const smp::Request& r, cbor::Writer& w);
  smp::Outcome TaskStat(cbor::Writer& w);
  smp::Outcome DateTimeCmd(const smp::Request& r, cbor::Writer& w);
  smp::Outcome Reset(const smp::Request& r);
  smp::Outcome Params(cbor::Writer& w);
  smp::Outcome Info(const smp::Request& r, cbor::Writer& w);
  smp::Outcome BootloaderInfo(const smp::Request& r, cbor::Writer& w);

  OsGroupConfig config_;
  const smp::ServerConfig& server_;
  OsHooks& hooks_;
};

}  // namespace smpkit::mgmt
