// Fuzzes a whole transport packet through the SMP dispatcher, the OS group, the
// statistics group and the enumeration group: header
// decoding, multi-frame walking, version/op checks, CBOR decoding and response encoding.
// Every response must be a well-formed frame whose length field matches.
#include <cstdint>
#include <cstdlib>

#include "smpkit/mgmt/enum_group.h"
#include "smpkit/mgmt/os_group.h"
#include "smpkit/mgmt/stat_group.h"

#include "fuzz_util.h"

namespace {

using smpkit::fuzzing::CheckingSink;

class Hooks : public smpkit::mgmt::OsHooks {
 public:
  bool RtcGet(smpkit::mgmt::DateTime* out) override {
    *out = smpkit::mgmt::DateTime{};
    return true;
  }
  bool RtcSet(const smpkit::mgmt::DateTime&) override { return true; }
};

class Stats : public smpkit::mgmt::StatSource {
 public:
  size_t GroupCount() const override { return 2; }
  std::string_view GroupName(size_t g) const override { return g == 0 ? "smp" : "flash"; }
  size_t FieldCount(size_t g) const override { return g == 0 ? 2 : 40; }  // 40: may overflow
  smpkit::mgmt::StatField Field(size_t g, size_t i) const override {
    return {g == 0 ? "requests" : "a_long_counter_name", static_cast<uint32_t>(i * 1000003)};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static smpkit::smp::ServerConfig config = [] {
    smpkit::smp::ServerConfig c;
    c.buf_size = 512;
    return c;
  }();
  static Hooks hooks;
  static smpkit::mgmt::OsGroup os = [] {
    smpkit::mgmt::OsGroupConfig c;
    c.taskstat = true;
    c.datetime = true;
    c.datetime_ms = true;
    c.reset_boot_mode = true;
    return smpkit::mgmt::OsGroup(c, config, hooks);
  }();
  static Stats stats;
  static smpkit::mgmt::StatGroup stat(smpkit::mgmt::StatGroupConfig{}, stats);
  static smpkit::smp::Registry registry;
  static smpkit::mgmt::EnumGroup enumeration(smpkit::mgmt::EnumGroupConfig{}, registry);
  static bool registered = [] {
    (void)registry.Register(enumeration);
    (void)registry.Register(os);
    (void)registry.Register(stat);
    return true;
  }();
  (void)registered;
  smpkit::smp::Server server(registry, config);
  uint8_t scratch[512];
  CheckingSink sink;
  server.Process(smpkit::ConstByteSpan(data, size), scratch, sink);
  return 0;
}
