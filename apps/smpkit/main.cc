#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "commands.h"

#ifndef SMPKIT_VERSION
#define SMPKIT_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  using namespace smpkit::cli;
  CLI::App app{"smpkit: firmware update over the Simple Management Protocol (SMP/MCUmgr)"};
  app.require_subcommand(1);
  // Global options are accepted before or after the subcommand (subcommands inherit this),
  // and every option shows its default in --help.
  app.fallthrough();
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version", std::string("smpkit ") + SMPKIT_VERSION);
  app.footer(
      "Connections (--conn or $SMPKIT_CONN; device commands need one):\n"
      "  udp:HOST[:PORT]       SMP over UDP (default port 1337; udp:[::1]:1337 for IPv6)\n"
      "  serial:PATH[,BAUD]    SMP console over a serial port or pty (default 115200)\n"
      "  ble:ADDRESS|ble:NAME  Bluetooth LE through BlueZ (the system D-Bus, or\n"
      "                        $DBUS_SYSTEM_BUS_ADDRESS); a name must be unique\n"
      "  blesim:SOCKET         a `smpkit device --ble-sim SOCKET` over simulated BLE\n"
      "  sim                   an in-process simulated device (only when named)\n"
      "Exit codes: 0 ok, 1 failed, 2 bad command line, 3 unusable input, 4 unreachable,\n"
      "  5 refused by the device, 6 unusable answer.\n"
      "Global options (before or after the command): --conn, --json, --timeout, --retries,\n"
      "  --mtu, --pair.\n");
  GlobalOptions global;
  app.add_option("--conn,-c", global.conn,
                 "device connection: udp:HOST[:PORT], serial:PATH[,BAUD], ble:ADDRESS|NAME, "
                 "blesim:SOCKET or sim "
                 "(default: $SMPKIT_CONN)")
      ->envname("SMPKIT_CONN");
  app.add_flag("--json", global.json, "machine-readable JSON output, errors included");
  app.add_option("--timeout", global.timeout_s, "per-request timeout in seconds")
      ->check(Seconds(3600));
  app.add_option("--retries", global.retries, "retries per request")->check(CLI::Range(0, 100));
  app.add_option("--mtu", global.mtu,
                 "largest SMP packet per transport unit, header included (0: UDP 1472 over "
                 "IPv4, 1452 over IPv6; serial and BLE: the device's buf_size); requests are "
                 "sized to min(MTU, buf_size)")
      ->check(CLI::Range(size_t{0}, size_t{65535}));
  app.add_flag("--pair", global.pair,
               "ble: pair (Device1.Pair) before using the link; without it smpkit pairs only "
               "when the device needs it");
  int exit_code = kExitOk;
  RegisterImageCommands(app, global, &exit_code);
  RegisterDemoCommands(app, global, &exit_code);
  RegisterClientCommands(app, global, &exit_code);
  RegisterDeviceCommands(app, global, &exit_code);
  RegisterBenchCommands(app, global, &exit_code);
  RegisterConfigDfuCommands(app, global, &exit_code);
  RegisterRelayCommands(app, global, &exit_code);
  RegisterCompletionCommands(app, global, &exit_code);
  RegisterBleCommands(app, global, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const bool info = e.get_exit_code() == 0;  // --help, --version
    bool json = false;
    for (int i = 1; i < argc; ++i) json = json || std::strcmp(argv[i], "--json") == 0;
    if (info || !json) {
      int rc = app.exit(e);
      return rc == 0 ? 0 : kExitUsage;
    }
    GlobalOptions g;
    g.json = true;
    return ReportError(g, kExitUsage, e.what());
  }
  return exit_code;
}
