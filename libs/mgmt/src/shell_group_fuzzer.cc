// Fuzzes the shell management group's request decoding and line handling: one transport
// packet through the dispatcher into the group, over a shell whose `echo` prints its
// arguments back. Every response must be a well-formed frame whose "o" is valid UTF-8.
#include <cstdint>
#include <cstdlib>

#include "smpkit/cbor/reader.h"
#include "smpkit/mgmt/shell_group.h"
#include "smpkit/smp/message.h"

namespace {

class Echo : public smpkit::mgmt::ShellCommands {
 public:
  std::optional<int> Execute(std::span<const std::string_view> argv,
                             smpkit::mgmt::ShellOutput& out) override {
    if (argv.empty()) std::abort();
    if (argv[0] != "echo") return std::nullopt;
    for (size_t i = 1; i < argv.size(); ++i) {
      out.Print(argv[i]);
      out.Print(i + 1 < argv.size() ? " " : "\n");
    }
    return static_cast<int>(argv.size());
  }
};

class CheckingSink : public smpkit::smp::ResponseSink {
 public:
  void SendResponse(smpkit::ConstByteSpan frame) override {
    auto r = smpkit::smp::ParseResponse(frame);
    if (!r.ok()) std::abort();
    if (!r->ok()) return;
    std::string_view o;
    bool has_o = false;
    if (!smpkit::cbor::DecodeMap(r->payload, {smpkit::cbor::TextField("o", &o, &has_o)}).ok() ||
        !has_o || !smpkit::cbor::IsValidUtf8(o)) {
      std::abort();
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Echo echo;
  static smpkit::smp::ServerConfig config = [] {
    smpkit::smp::ServerConfig c;
    c.buf_size = 512;
    return c;
  }();
  static smpkit::mgmt::ShellGroup group(smpkit::mgmt::ShellGroupConfig{}, echo);
  static smpkit::smp::Registry registry;
  static bool registered = registry.Register(group).ok();
  (void)registered;
  smpkit::smp::Server server(registry, config);
  uint8_t scratch[512];
  CheckingSink sink;
  server.Process(smpkit::ConstByteSpan(data, size), scratch, sink);
  return 0;
}
