// Fuzzes the prj.conf parser and the dependency resolution: no crash, errors carry a line
// number or an option name, and a parsed configuration survives ToText() -> Parse() unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smpkit/desktop/kconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smpkit::desktop;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto k = Kconfig::Parse(text);
  if (!k.ok()) {
    if (k.error().message().substr(0, 5) != "line ") std::abort();
    return 0;
  }
  auto again = Kconfig::Parse(k->ToText());
  if (!again.ok() || again->values() != k->values()) std::abort();
  auto c = ResolveConfig(*k);
  if (!c.ok() && c.error().message().find("CONFIG_") == std::string_view::npos) std::abort();
  return 0;
}
