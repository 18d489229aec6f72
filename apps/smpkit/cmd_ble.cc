// `smpkit ble scan`: Bluetooth LE devices offering the SMP service, through BlueZ.
// `smpkit ble emulate`: a BlueZ-compatible service backed by the simulated nRF Desktop device
// (bluez_emu.cc), for tests and trials without a radio.
#include <fmt/core.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "bluez_emu.h"
#include "commands.h"
#include "smpkit/bluez/bluez_client.h"

namespace smpkit::cli {

void RegisterBleCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto* ble = app.add_subcommand("ble", "Bluetooth LE through BlueZ: scan, emulate");
  ble->require_subcommand(1);

  auto* scan = ble->add_subcommand(
      "scan", "list Bluetooth LE devices advertising the SMP service (name, address, RSSI)");
  auto scan_timeout = std::make_shared<double>(5.0);
  scan->add_option("--timeout", *scan_timeout, "how long to discover (seconds)")
      ->check(Seconds(600));
  scan->callback([&global, scan_timeout, exit_code] {
    auto client = bluez::BluezClient::Open();
    if (!client.ok()) {
      *exit_code = ReportError(global, kExitUnreachable, client.error().message());
      return;
    }
    auto adapter = client->Adapter();
    if (!adapter.ok()) {
      *exit_code = ReportError(global, kExitUnreachable, adapter.error().message());
      return;
    }
    auto devices = client->Scan(
        adapter->path, std::chrono::milliseconds(static_cast<int64_t>(*scan_timeout * 1000)));
    if (!devices.ok()) {
      *exit_code = ReportError(global, kExitUnreachable,
                               fmt::format("scan: {}", devices.error().message()));
      return;
    }
    if (global.json) {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (const auto& d : *devices) {
        arr.push_back({{"name", d.name},
                       {"address", d.address},
                       {"rssi", d.rssi ? nlohmann::ordered_json(*d.rssi) : nullptr},
                       {"connected", d.connected},
                       {"paired", d.paired}});
      }
      fmt::print("{}\n", nlohmann::ordered_json{{"devices", arr}}.dump());
    } else {
      for (const auto& d : *devices) {
        fmt::print("{}  {:>4}  {}{}\n", d.address, d.rssi ? std::to_string(*d.rssi) : "-",
                   d.name.empty() ? "(no name)" : d.name, d.paired ? "  [paired]" : "");
      }
      if (devices->empty()) fmt::print(stderr, "no SMP devices found\n");
    }
    *exit_code = kExitOk;
  });

  auto* emu = ble->add_subcommand(
      "emulate",
      "a BlueZ-compatible org.bluez service on a D-Bus bus, backed by the simulated nRF "
      "Desktop device over the BLE link model (for tests without a radio)");
  auto opt = std::make_shared<BluezEmuOptions>();
  emu->add_option("--bus", opt->bus_address,
                  "D-Bus address to serve on (default: the system bus, $DBUS_SYSTEM_BUS_ADDRESS)");
  emu->add_option("--address", opt->address, "the device's Bluetooth address");
  emu->add_option("--name", opt->name, "the device's advertised name");
  emu->add_option("--rssi", opt->rssi, "RSSI reported while discovering (dBm)");
  emu->add_option("--mtu", opt->mtu, "ATT MTU offered by both sides")
      ->check(CLI::Range(23, 517));
  emu->add_flag("!--powered-off", opt->powered, "the adapter is powered off");
  emu->add_flag("--require-pairing", opt->require_pairing,
                "the device needs an encrypted link (nRF Desktop): write commands of an "
                "unpaired peer are dropped");
  emu->add_option("--notify-unpaired", opt->notify_unpaired,
                  "enabling notifications unpaired: auto (BlueZ pairs by itself), error "
                  "(NotPermitted \"Not paired\"), allow (enabled; answers never come)")
      ->check(CLI::IsMember({"auto", "error", "allow"}));
  emu->add_flag("--refuse-pairing", opt->refuse_pairing, "pairing fails (AuthenticationFailed)");
  emu->add_flag("--no-acquire", opt->no_acquire,
                "AcquireWrite/AcquireNotify answer NotSupported (WriteValue/StartNotify remain)");
  emu->add_option("--recut", opt->recut,
                  "re-cut notifications as one stream into values of at most N bytes, so that "
                  "packets split and share notifications (0: as the device sends them)");
  emu->add_option("--drop-link-after-writes", opt->drop_link_after_writes,
                  "drop the link once after N write commands (a disconnect mid-upload)");
  emu->add_option("--config", opt->prj_conf, "prj.conf of the simulated device");
  emu->add_option("--flash", opt->flash_path, "file-backed flash of the simulated device");
  emu->add_flag("--quiet", opt->quiet, "no device log");
  emu->callback([opt, exit_code] { *exit_code = RunBluezEmulator(*opt); });
}

}  // namespace smpkit::cli
