#include "commands.h"
namespace smpkit::cli {
void RegisterDemoCommands(CLI::App&, GlobalOptions&, int*) {}
}  // namespace smpkit::cli
