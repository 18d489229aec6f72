#pragma once
// `smpkit device --ble-sim PATH`: see ble_sim_device.cc.
#include <string>

namespace smpkit::cli {

struct BleSimDeviceOptions {
  std::string socket_path;
  std::string prj_conf;    // empty: the seed's defaults
  std::string flash_path;  // empty: RAM
  bool quiet = false;
};

// Runs until SIGINT/SIGTERM. Returns an exit code.
int RunBleSimDevice(const BleSimDeviceOptions& options);

}  // namespace smpkit::cli
