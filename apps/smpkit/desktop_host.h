#pragma once
// A simulated nRF Desktop device hosted by a process (`smpkit device --ble-sim` and
// `smpkit ble emulate`): its prj.conf (warnings printed), RAM or file-backed flash with the
// nRF52 timing, the factory image on a blank flash, power-on, and the dfu module's boot-time
// check of the update slot before any client connects.
#include <memory>
#include <string>
#include <vector>

#include "smpkit/ble/link.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/flash/flash.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::cli {

struct HostedDesktop {
  // Declaration order is destruction order reversed: the device goes first, then the
  // flash, then the links (which must outlive the device), then the scheduler.
  sim::Scheduler sched{1};
  std::vector<std::unique_ptr<ble::Link>> links;
  std::unique_ptr<flash::Flash> flash;
  std::unique_ptr<desktop::DesktopDevice> dev;
};

// `who` prefixes every message ("smpkit device"). On failure prints the error and returns
// nullptr with *exit_code set (kExitBadInput for the configuration or the flash file,
// kExitFailure for provisioning or boot).
std::unique_ptr<HostedDesktop> StartHostedDesktop(const std::string& who,
                                                  const std::string& prj_conf,
                                                  const std::string& flash_path, bool quiet,
                                                  int* exit_code);

}  // namespace smpkit::cli
