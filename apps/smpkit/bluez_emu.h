#pragma once
// `smpkit ble emulate`: see bluez_emu.cc.
#include <cstdint>
#include <string>

namespace smpkit::cli {

struct BluezEmuOptions {
  std::string bus_address;  // empty: the system bus ($DBUS_SYSTEM_BUS_ADDRESS)
  std::string address = "F4:CE:36:00:16:01";
  std::string name = "Desktop Mouse";
  int16_t rssi = -48;
  uint16_t mtu = 498;  // the ATT MTU both sides offer
  bool powered = true;
  // The device needs an encrypted link (nRF Desktop): write commands of an unpaired peer are
  // dropped. Enabling notifications unpaired: "error" answers NotPermitted "Not paired",
  // "auto" pairs Just Works by itself (what BlueZ does on insufficient authentication),
  // "allow" enables them (answers then never come until the client pairs).
  bool require_pairing = false;
  std::string notify_unpaired = "auto";
  bool refuse_pairing = false;
  bool no_acquire = false;  // AcquireWrite/AcquireNotify answer NotSupported
  // Notifications re-cut as one byte stream into values of these many bytes at most (0: as
  // the device sent them); consecutive packets then share notifications.
  size_t recut = 0;
  uint32_t drop_link_after_writes = 0;  // the link drops once after N write commands
  std::string prj_conf;
  std::string flash_path;
  bool quiet = false;
};

// Runs until SIGINT/SIGTERM. Returns an exit code.
int RunBluezEmulator(const BluezEmuOptions& options);

}  // namespace smpkit::cli
