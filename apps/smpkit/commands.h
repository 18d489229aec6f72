#pragma once
// Each CLI area registers its subcommands on the root app. Handlers set the process exit
// code through the shared ExitCode (see README "Exit codes").
#include <CLI/CLI.hpp>

namespace smpkit::cli {

// Documented exit codes of the smpkit CLI.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,       // the operation failed (remote error, verification failed, ...)
  kExitUsage = 2,         // bad command line
  kExitBadInput = 3,      // a file or argument could not be used (wrong type, too large)
  kExitUnreachable = 4,   // no answer from the device / cannot open the link
  kExitRejected = 5,      // the device refused the request (SMP error response)
  kExitProtocol = 6,      // the device answered something we cannot use (e.g. v1 only)
};

struct GlobalOptions {
  std::string conn;
  bool json = false;
  double timeout_s = 3.0;
  int retries = 3;
  size_t mtu = 0;  // --mtu: largest SMP packet per transport unit (0: the transport's default)
};

// Every Register* function adds subcommands; the callback stores the exit code in *exit_code.
void RegisterImageCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterDemoCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterClientCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterDeviceCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterBenchCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterConfigDfuCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterRelayCommands(CLI::App& app, GlobalOptions& global, int* exit_code);

}  // namespace smpkit::cli
