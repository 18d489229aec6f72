#include <cstdio>

#include "commands.h"

int main(int argc, char** argv) {
  using namespace smpkit::cli;
  CLI::App app{"smpkit: firmware update over the Simple Management Protocol (SMP/MCUmgr)"};
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--conn,-c", global.conn, "connection: udp:HOST[:PORT], serial:PATH[,BAUD]");
  app.add_flag("--json", global.json, "machine-readable JSON output");
  app.add_option("--timeout", global.timeout_s, "per-request timeout in seconds");
  app.add_option("--retries", global.retries, "retries per request");
  app.add_option("--mtu", global.mtu,
                 "largest SMP packet per transport unit, header included (default: UDP 1472 "
                 "over IPv4, 1452 over IPv6; serial and BLE: the device's buf_size); requests "
                 "are sized to min(MTU, buf_size)")
      ->check(CLI::Range(size_t{64}, size_t{65535}));
  int exit_code = kExitOk;
  RegisterImageCommands(app, global, &exit_code);
  RegisterDemoCommands(app, global, &exit_code);
  RegisterClientCommands(app, global, &exit_code);
  RegisterDeviceCommands(app, global, &exit_code);
  RegisterBenchCommands(app, global, &exit_code);
  RegisterConfigDfuCommands(app, global, &exit_code);
  RegisterRelayCommands(app, global, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return exit_code;
}
