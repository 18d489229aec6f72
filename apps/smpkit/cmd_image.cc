// `smpkit image ...`: placeholder until libs/mcuboot lands (issue 3).
#include "commands.h"

namespace smpkit::cli {
void RegisterImageCommands(CLI::App&, GlobalOptions&, int*) {}
}  // namespace smpkit::cli
