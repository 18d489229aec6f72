// Fuzzes the settings management group's request decoding: one transport packet through the
// dispatcher into the group, over a backend that keeps "app/..." values in a small map and
// has no handler for other roots. Every response must be a well-formed frame; a value read
// back is never longer than the group's value buffer.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "smpkit/mgmt/settings_group.h"

namespace {

class Backend : public smpkit::mgmt::SettingsBackend {
 public:
  int RuntimeGet(std::string_view name, smpkit::ByteSpan out) override {
    if (name.substr(0, 4) != "app/") return kEinval;
    auto it = values.find(std::string(name));
    if (it == values.end()) return kEnoent;
    const size_t n = std::min(out.size(), it->second.size());
    std::copy(it->second.begin(), it->second.begin() + static_cast<long>(n), out.begin());
    return static_cast<int>(n);
  }
  int RuntimeSet(std::string_view name, smpkit::ConstByteSpan v) override {
    if (name.substr(0, 4) != "app/") return kEinval;
    if (values.size() >= 16 && !values.count(std::string(name))) return kEnomem;
    values[std::string(name)].assign(v.begin(), v.end());
    return 0;
  }
  int Delete(std::string_view name) override { return name.empty() ? kEinval : 0; }
  int Commit() override { return 0; }
  int Load() override { return 0; }
  int Save() override { return kEnoent; }
  std::map<std::string, std::vector<uint8_t>> values;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smpkit::smp::ServerConfig config;
  config.buf_size = 384;
  Backend backend;
  backend.values["app/a"] = std::vector<uint8_t>(300, 0x5a);  // longer than VALUE_LEN
  smpkit::mgmt::SettingsGroup group(smpkit::mgmt::SettingsGroupConfig{}, backend);
  smpkit::smp::Registry registry;
  (void)registry.Register(group);
  smpkit::smp::Server server(registry, config);
  uint8_t scratch[384];
  smpkit::fuzzing::CheckingSink sink;
  server.Process(smpkit::ConstByteSpan(data, size), scratch, sink);
  return 0;
}
